/**
 * Which account quota caps a compute environment, in vCPUs. Batch scales an environment up to its
 * maxvCpus, but EC2 refuses instances past the quota and Batch does not move on to the next
 * environment in the queue until the first is at maxvCpus: a quota of 0 leaves every job RUNNABLE.
 * Fargate environments have their own vCPU quotas; a queue of either kind is checked the same way.
 * The quota codes are the queue registry's (job/shared/queues.ts).
 */
import type { ComputeEnvironmentDetail } from '@aws-sdk/client-batch';

import { queueSpec, QUEUES, type QuotaRule, type QuotaSpec } from '../../job/shared/queues.js';

export type { QuotaSpec };

const RULES: readonly QuotaRule[] = QUEUES.flatMap((queue) => queueSpec(queue).quotas);

/** The quotas an environment draws on: for EC2, one per instance family group it may launch. */
export function quotasFor(environment: ComputeEnvironmentDetail): QuotaSpec[] {
  const resources = environment.computeResources;
  if (!resources) return [];
  const families = (resources.instanceTypes ?? []).map((type) => type.split('.')[0]!.toLowerCase());
  const specs = RULES
    .filter((rule) => rule.environmentType === resources.type)
    .filter((rule) => rule.familyPrefix === undefined || families.some((family) => family.startsWith(rule.familyPrefix!)))
    .map((rule) => rule.quota);
  return specs.filter((spec, i) => specs.findIndex((other) => other.quotaCode === spec.quotaCode) === i);
}

export function quotaConsoleUrl(spec: QuotaSpec, region: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/${spec.serviceCode}/quotas/${spec.quotaCode}`;
}
