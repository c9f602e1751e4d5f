/**
 * Why sweep children sit RUNNABLE: the queue's compute environments' status reasons, the children's
 * own status reasons, the quota each environment draws on, and a hint. Batch shows none of this in
 * a job's state, and a quota of 0 never trips the queue's stuck-job actions.
 */
import type { JobSummary } from '@aws-sdk/client-batch';

import type { DoctorApi } from '../doctor/aws.js';
import { quotasFor } from '../doctor/quotas.js';

/** Children RUNNABLE this long get a diagnosis, repeated at this interval while they stay so. */
export const RUNNABLE_DIAGNOSIS_AFTER_MS = 5 * 60_000;

export async function diagnoseRunnable(api: DoctorApi, queueArn: string, runnable: readonly JobSummary[], jobVcpus: number | null): Promise<string[]> {
  const lines: string[] = [];
  const reasons = [...new Set(runnable.map((job) => job.statusReason).filter((r): r is string => Boolean(r)))];
  for (const reason of reasons.slice(0, 3)) lines.push(`  child status: ${reason}`);
  const queue = await api.describeJobQueue(queueArn);
  const arns = (queue?.computeEnvironmentOrder ?? []).map((entry) => entry.computeEnvironment!).filter(Boolean);
  const environments = arns.length > 0 ? await api.describeComputeEnvironments(arns) : [];
  const texts: string[] = [...reasons];
  let quotaShort = false;
  for (const environment of environments) {
    const resources = environment.computeResources;
    const quotaParts: string[] = [];
    for (const spec of quotasFor(environment)) {
      try {
        const value = await api.quotaValue(spec.serviceCode, spec.quotaCode);
        if (value < (jobVcpus ?? 1)) quotaShort = true;
        quotaParts.push(`${spec.quotaCode} = ${value} vCPUs`);
      } catch {
        quotaParts.push(`${spec.quotaCode} unreadable`);
      }
    }
    lines.push(
      `  ${environment.computeEnvironmentName}: ${environment.state}/${environment.status}` +
        `${environment.statusReason ? ` — ${environment.statusReason}` : ''}` +
        `, desired ${resources?.desiredvCpus ?? '?'} of max ${resources?.maxvCpus ?? '?'} vCPUs` +
        `${resources?.instanceTypes?.length ? `, ${resources.instanceTypes.join('/')}` : ''}` +
        `${quotaParts.length > 0 ? `, quota ${quotaParts.join(', ')}` : ''}`,
    );
    if (environment.statusReason) texts.push(environment.statusReason);
  }
  lines.push(`  hint: ${hint(texts.join(' '), quotaShort)}`);
  return lines;
}

export function hint(reasons: string, quotaShort: boolean): string {
  if (quotaShort || /quota|VcpuLimitExceeded|MaxSpotInstanceCountExceeded|InstanceLimitExceeded/i.test(reasons)) {
    return 'a vCPU quota is below what a job needs; request an increase (mixup doctor prints the links), or redeploy with -c spot=false if only the spot quota is 0';
  }
  if (/INSUFFICIENT_INSTANCE_CAPACITY|InsufficientInstanceCapacity|capacity/i.test(reasons)) {
    return 'AWS has no spare capacity for these instance types here now; wait, add on-demand (-c onDemand=true), or allow more classes (-c instanceClasses=g4dn,g5)';
  }
  if (/JOB_RESOURCE_REQUIREMENT|MISCONFIGURATION|no instance type/i.test(reasons)) {
    return "no allowed instance type fits the job's vCPUs, memory and GPU; lower -c jobVcpus/-c jobMemoryMiB or allow larger classes";
  }
  return 'instances are starting or Batch has not scaled yet (a cold GPU instance takes 5–10 minutes); if it persists, run mixup doctor';
}
