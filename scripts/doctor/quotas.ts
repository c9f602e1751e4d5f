/**
 * Which account quota caps a compute environment, in vCPUs. Batch scales an environment up to its
 * maxvCpus, but EC2 refuses instances past the quota and Batch does not move on to the next
 * environment in the queue until the first is at maxvCpus: a quota of 0 leaves every job RUNNABLE.
 * Fargate environments have their own vCPU quotas; a queue of either kind is checked the same way.
 */
import type { ComputeEnvironmentDetail } from '@aws-sdk/client-batch';

export interface QuotaSpec {
  readonly serviceCode: string;
  readonly quotaCode: string;
  readonly name: string;
  /** How to avoid needing this quota, e.g. a deploy switch; absent when there is none. */
  readonly alternative?: string;
}

const G_SPOT: QuotaSpec = { serviceCode: 'ec2', quotaCode: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests', alternative: 'or deploy without the spot environment: npx cdk deploy -c spot=false' };
const G_ON_DEMAND: QuotaSpec = { serviceCode: 'ec2', quotaCode: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances', alternative: 'or deploy without the on-demand environment: npx cdk deploy -c onDemand=false' };
const P_SPOT: QuotaSpec = { serviceCode: 'ec2', quotaCode: 'L-7212CCBC', name: 'All P Spot Instance Requests', alternative: 'or drop p* from -c instanceClasses' };
const P_ON_DEMAND: QuotaSpec = { serviceCode: 'ec2', quotaCode: 'L-417A185B', name: 'Running On-Demand P instances', alternative: 'or drop p* from -c instanceClasses' };
const FARGATE: QuotaSpec = { serviceCode: 'fargate', quotaCode: 'L-3032A538', name: 'Fargate On-Demand vCPU resource count' };
const FARGATE_SPOT: QuotaSpec = { serviceCode: 'fargate', quotaCode: 'L-36FBB829', name: 'Fargate Spot vCPU resource count' };

/** The quotas an environment draws on: one per instance family group it may launch. */
export function quotasFor(environment: ComputeEnvironmentDetail): QuotaSpec[] {
  const resources = environment.computeResources;
  if (!resources) return [];
  switch (resources.type) {
    case 'FARGATE':
      return [FARGATE];
    case 'FARGATE_SPOT':
      return [FARGATE_SPOT];
    case 'SPOT':
    case 'EC2': {
      const spot = resources.type === 'SPOT';
      const families = new Set((resources.instanceTypes ?? []).map((type) => type.split('.')[0]!.toLowerCase()));
      const specs: QuotaSpec[] = [];
      if ([...families].some((family) => family.startsWith('g'))) specs.push(spot ? G_SPOT : G_ON_DEMAND);
      if ([...families].some((family) => family.startsWith('p'))) specs.push(spot ? P_SPOT : P_ON_DEMAND);
      return specs;
    }
    default:
      return [];
  }
}

export function quotaConsoleUrl(spec: QuotaSpec, region: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/${spec.serviceCode}/quotas/${spec.quotaCode}`;
}
