/**
 * `mixup doctor`'s checks of one deployed queue: the queue and its compute environments, the job
 * definition and its image, the dataset, and the quotas that decide whether a job can ever start.
 * Each check is a line of the checklist with the fix for a failure; `fail` is a blocker (jobs would
 * never run or never finish), `warn` works but slower or partly.
 */
import type { ComputeEnvironmentDetail, JobDefinition } from '@aws-sdk/client-batch';

import { FILES } from '../../job/data/fashion-mnist.js';
import { JobError } from '../../job/errors.js';
import { SPOT_SERVICE_LINKED_ROLE } from '../../job/shared/stack.js';
import { parseSha256Sums, SHA256SUMS_NAME } from '../../job/data/sha256sums.js';
import type { Storage } from '../../job/storage/storage.js';
import { parseEcrImage, type DoctorApi } from './aws.js';
import { quotaConsoleUrl, quotasFor } from './quotas.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly status: CheckStatus;
  readonly name: string;
  readonly detail: string;
  readonly fix?: string;
}

export interface DoctorTarget {
  readonly jobQueueArn: string;
  readonly jobDefinitionArn: string;
  /** The dataset prefix the jobs read, e.g. s3://bucket/fashion-mnist; null skips the data check. */
  readonly data: Storage | null;
  readonly stackName: string;
}

const REDEPLOY = 'npx cdk deploy';

/** Runs every check; an AWS call that fails outright (no credentials, no network) is one JobError line. */
export async function runChecks(api: DoctorApi, target: DoctorTarget): Promise<Check[]> {
  try {
    return await checksOf(api, target);
  } catch (error) {
    if (error instanceof JobError) throw error;
    throw new JobError(`the checks could not reach AWS: ${(error as Error).message}; check credentials and region (AWS_PROFILE, AWS_REGION)`, { cause: error });
  }
}

async function checksOf(api: DoctorApi, target: DoctorTarget): Promise<Check[]> {
  const checks: Check[] = [];
  const region = regionOf(target.jobQueueArn);
  const environments = await checkQueue(api, target, checks);
  const jobVcpus = await checkJobDefinition(api, target, checks);
  if (target.data) checks.push(await checkData(target.data));
  for (const environment of environments) {
    checks.push(...(await checkQuotas(api, environment, jobVcpus, region)));
  }
  const spot = environments.filter((environment) => environment.computeResources?.type === 'SPOT');
  if (spot.length > 0) checks.push(await checkSpotRole(api, spot));
  return checks;
}

export function hasBlocker(checks: readonly Check[]): boolean {
  return checks.some((check) => check.status === 'fail');
}

async function checkQueue(api: DoctorApi, target: DoctorTarget, checks: Check[]): Promise<ComputeEnvironmentDetail[]> {
  const queue = await api.describeJobQueue(target.jobQueueArn);
  if (!queue) {
    checks.push({ status: 'fail', name: 'job queue', detail: `${target.jobQueueArn} not found`, fix: `deploy the stack (${REDEPLOY}) in this region, or pass --queue` });
    return [];
  }
  const queueOk = queue.state === 'ENABLED' && queue.status === 'VALID';
  checks.push({
    status: queueOk ? 'ok' : 'fail',
    name: `job queue ${queue.jobQueueName}`,
    detail: `${queue.state}/${queue.status}${queue.statusReason && !queueOk ? `: ${queue.statusReason}` : ''}`,
    ...(queueOk ? {} : { fix: queue.state !== 'ENABLED' ? `aws batch update-job-queue --job-queue ${queue.jobQueueName} --state ENABLED` : `fix the reason above, then ${REDEPLOY}` }),
  });
  const order = [...(queue.computeEnvironmentOrder ?? [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const arns = order.map((entry) => entry.computeEnvironment!).filter(Boolean);
  const found = arns.length > 0 ? await api.describeComputeEnvironments(arns) : [];
  const environments = arns.map((arn) => found.find((e) => e.computeEnvironmentArn === arn || e.computeEnvironmentName === arn));
  environments.forEach((environment, index) => {
    if (!environment) {
      checks.push({ status: 'fail', name: 'compute environment', detail: `${arns[index]} not found`, fix: REDEPLOY });
      return;
    }
    const ok = environment.state === 'ENABLED' && environment.status === 'VALID';
    const resources = environment.computeResources;
    checks.push({
      status: ok ? 'ok' : 'fail',
      name: `compute environment ${environment.computeEnvironmentName}`,
      detail: `${environment.state}/${environment.status}, ${resources?.type ?? '?'}, up to ${resources?.maxvCpus ?? '?'} vCPUs` +
        `${resources?.instanceTypes?.length ? ` of ${resources.instanceTypes.join(', ')}` : ''}` +
        `${environment.statusReason && !ok ? `: ${environment.statusReason}` : ''}`,
      ...(ok ? {} : { fix: environment.state !== 'ENABLED'
        ? `aws batch update-compute-environment --compute-environment ${environment.computeEnvironmentName} --state ENABLED`
        : `an INVALID environment names its cause above (often the instance role or an instance type this region lacks); fix it, then ${REDEPLOY}` }),
    });
  });
  return environments.filter((e): e is ComputeEnvironmentDetail => e !== undefined);
}

async function checkJobDefinition(api: DoctorApi, target: DoctorTarget, checks: Check[]): Promise<number | null> {
  const definition = await api.describeJobDefinition(target.jobDefinitionArn);
  if (!definition) {
    checks.push({ status: 'fail', name: 'job definition', detail: `${target.jobDefinitionArn} not found`, fix: `${REDEPLOY}, or pass --job-definition` });
    return null;
  }
  const active = definition.status === 'ACTIVE';
  checks.push({
    status: active ? 'ok' : 'fail',
    name: `job definition ${definition.jobDefinitionName}:${definition.revision}`,
    detail: definition.status ?? 'no status',
    ...(active ? {} : { fix: `${REDEPLOY} registers a new revision and updates the SSM parameter /${target.stackName}/job-definition-arn` }),
  });
  const container = definition.containerProperties;

  const image = container?.image;
  if (image) {
    const ecr = parseEcrImage(image);
    if (!ecr) {
      checks.push({ status: 'warn', name: 'image', detail: `${image} is not in ECR; not checked`, fix: 'make sure the instances can pull it' });
    } else {
      let present: boolean;
      try {
        present = await api.imageExists(ecr);
      } catch (error) {
        checks.push({ status: 'warn', name: 'image', detail: `could not look it up: ${(error as Error).message}`, fix: "grant ecr:DescribeImages (the stack's operator policy has it)" });
        return vcpusOf(container);
      }
      checks.push({
        status: present ? 'ok' : 'fail',
        name: 'image',
        detail: `${ecr.repositoryName}${ecr.digest ? `@${ecr.digest}` : `:${ecr.tag}`} ${present ? 'present' : 'missing'} in ECR`,
        ...(present ? {} : { fix: `${REDEPLOY} builds and pushes it (a lifecycle rule or a manual delete removed it)` }),
      });
    }
  }
  return vcpusOf(container);
}

function vcpusOf(container: JobDefinition['containerProperties']): number | null {
  const requirement = container?.resourceRequirements?.find((r) => r.type === 'VCPU')?.value;
  const vcpus = requirement !== undefined ? Number(requirement) : container?.vcpus ?? null;
  return vcpus !== null && Number.isFinite(vcpus) ? vcpus : null;
}

async function checkData(data: Storage): Promise<Check> {
  const fix = `npx mixup seed-data --to ${data.uri}`;
  const present = new Set((await data.list()).map((object) => object.key));
  const missing = [...Object.values(FILES), SHA256SUMS_NAME].filter((name) => !present.has(name));
  if (missing.length > 0) return { status: 'fail', name: 'data', detail: `${data.uri}: ${missing.join(', ')} missing`, fix };
  const sums = parseSha256Sums((await data.read(SHA256SUMS_NAME)).toString('utf8'), data.uriOf(SHA256SUMS_NAME));
  const unlisted = Object.values(FILES).filter((name) => !sums.has(name));
  if (unlisted.length > 0) return { status: 'fail', name: 'data', detail: `${data.uriOf(SHA256SUMS_NAME)} does not list ${unlisted.join(', ')}`, fix };
  return { status: 'ok', name: 'data', detail: `${data.uri}: 4 files and ${SHA256SUMS_NAME} (each job checks the sums as it loads)` };
}

async function checkQuotas(api: DoctorApi, environment: ComputeEnvironmentDetail, jobVcpus: number | null, region: string): Promise<Check[]> {
  const maxvCpus = environment.computeResources?.maxvCpus ?? null;
  const checks: Check[] = [];
  for (const spec of quotasFor(environment)) {
    const name = `quota ${spec.quotaCode} (${spec.name}) for ${environment.computeEnvironmentName}`;
    const link = quotaConsoleUrl(spec, region);
    const want = maxvCpus ?? jobVcpus ?? 1;
    const request = `request ≥ ${want} vCPUs at ${link}`;
    let value: number;
    try {
      value = await api.quotaValue(spec.serviceCode, spec.quotaCode);
    } catch (error) {
      checks.push({ status: 'warn', name, detail: `could not read it: ${(error as Error).message}`, fix: 'grant servicequotas:GetServiceQuota (the stack\'s operator policy has it), or look it up at ' + link });
      continue;
    }
    const need = jobVcpus ?? 1;
    if (value < need) {
      checks.push({
        status: 'fail',
        name,
        detail: `${value} vCPUs < ${need} per job: no instance can start, every job stays RUNNABLE (Batch does not move on to the next environment)`,
        fix: `${request}${spec.alternative ? `, ${spec.alternative}` : ''}`,
      });
    } else if (maxvCpus !== null && value < maxvCpus) {
      checks.push({
        status: 'warn',
        name,
        detail: `${value} vCPUs < maxvCpus ${maxvCpus}: at most ${Math.floor(value / need)} jobs at once; the rest wait RUNNABLE`,
        fix: `${request}, or deploy with -c maxvCpus=${Math.max(need, Math.floor(value / need) * need)}`,
      });
    } else {
      checks.push({ status: 'ok', name, detail: `${value} vCPUs ≥ maxvCpus ${maxvCpus ?? '?'}` });
    }
  }
  return checks;
}

/** EC2 Spot environments launch through EC2's Spot service-linked role; without it they never scale. */
async function checkSpotRole(api: DoctorApi, spot: readonly ComputeEnvironmentDetail[]): Promise<Check> {
  const { name: role, create } = SPOT_SERVICE_LINKED_ROLE;
  const name = `Spot service-linked role ${role}`;
  const users = spot.map((environment) => environment.computeEnvironmentName).join(', ');
  let present: boolean;
  try {
    present = await api.roleExists(role);
  } catch (error) {
    return { status: 'warn', name, detail: `could not read it: ${(error as Error).message}`, fix: `grant iam:GetRole on it (the stack's operator policy has it), or run once: ${create}` };
  }
  if (present) return { status: 'ok', name, detail: `present (used by ${users})` };
  return {
    status: 'fail',
    name,
    detail: `missing: ${users} cannot launch Spot instances, and jobs wait RUNNABLE (Batch does not move on to the next environment)`,
    fix: `${create}   (once per account), or deploy without the spot environment: npx cdk deploy -c spot=false`,
  };
}

function regionOf(arn: string): string {
  return arn.split(':')[3] || process.env.AWS_REGION || 'us-east-1';
}
