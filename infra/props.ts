/**
 * The stack's deploy-time options: their types, their defaults (the one home of every default; cdk.json
 * sets none) and the checks that refuse a stack Batch could never run.
 */
import { Duration, Size, Token, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { jobReservation, QUEUES, QUEUE_REGISTRY, type QueueName } from '../job/shared/queues.js';
import { classProblem, familyOf, HOST_RESERVED_MIB, instanceTypeProblem, XLARGE_SPECS } from './gpu-instances.js';

/**
 * One deploy switch per registered queue (`-c gpu=false`, `-c cpu=false`): whether it exists.
 * @default true for each
 */
export type QueueSwitches = { readonly [Q in QueueName]?: boolean };

export interface MixupBatchStackProps extends StackProps, QueueSwitches {
  /**
   * Directory holding the `Dockerfile` of the job image.
   * @default - the repository root
   */
  readonly imageDirectory?: string;
  /**
   * Whether the GPU path exists: EC2 GPU compute environments, their queue and job definition.
   * @default true
   */
  readonly gpu?: boolean;
  /**
   * Whether the CPU path exists: Fargate Spot and on-demand compute environments, their queue and a
   * Fargate job definition with the CPU image (infra/cpu-queue.ts).
   * @default true
   */
  readonly cpu?: boolean;
  /**
   * Upper bound of each Fargate compute environment, in vCPUs.
   * @default 32 (32 one-arm CPU jobs at once)
   */
  readonly cpuMaxvCpus?: number;
  /**
   * Docker build arguments of the job images, e.g. BUILD_BASE and CPU_BASE (a mirrored, digest-pinned
   * Node base); see the Dockerfile.
   * @default - none: the Dockerfile's defaults
   */
  readonly imageBuildArgs?: Record<string, string>;
  /**
   * GPU instance classes Batch may launch, each at its one-GPU xlarge size (g4dn.xlarge, g5.xlarge, …).
   * g4dn (T4, sm_75) runs the image's compiled kernels; g5/g6/g6e (sm_86/89) compile PTX at their
   * first job (see JIT_COMPILING_CLASSES), cached on the host for the next ones.
   * @default [g4dn]
   */
  readonly instanceClasses?: ec2.InstanceClass[];
  /**
   * GPU instance types Batch may launch, for sizes other than xlarge; instead of `instanceClasses`.
   * @default - the xlarge size of each of `instanceClasses`
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * Upper bound of each compute environment, in vCPUs.
   * @default 64 (16 one-GPU jobs of 4 vCPUs at once)
   */
  readonly maxvCpus?: number;
  /**
   * Whether the spot compute environment exists; it comes first in the queue.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Whether the on-demand compute environment exists; it comes after spot in the queue.
   * @default true
   */
  readonly onDemand?: boolean;
  /**
   * An existing VPC, looked up at synth time (needs credentials and an explicit account/region).
   * @default - a new VPC with public subnets and no NAT gateway
   */
  readonly vpcId?: string;
  /**
   * Whether to add an S3 gateway endpoint to the VPC (turn off for an existing VPC that has one).
   * @default true
   */
  readonly s3GatewayEndpoint?: boolean;
  /**
   * Whether `cdk destroy` empties and deletes both buckets.
   * @default false - the buckets and their objects are retained
   */
  readonly autoDeleteBuckets?: boolean;
  /**
   * Retention of the job log group and the VPC flow log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Wall-clock limit of one job attempt; Batch terminates the attempt after it.
   * @default Duration.minutes(120)
   */
  readonly jobTimeout?: Duration;
  /**
   * vCPUs one job reserves.
   * @default 4 (a whole *.xlarge)
   */
  readonly jobVcpus?: number;
  /**
   * Memory one job reserves.
   * @default Size.mebibytes(14336) (a 16 GiB *.xlarge, less what the ECS agent and OS keep)
   */
  readonly jobMemory?: Size;
  /**
   * Age after which objects tagged `kind=checkpoint` in the results bucket expire.
   * @default Duration.days(7)
   */
  readonly checkpointExpiration?: Duration;
  /**
   * How long a job may wait RUNNABLE for lack of GPU capacity before Batch cancels it.
   * @default Duration.minutes(240)
   */
  readonly capacityWait?: Duration;
}

export { DEFAULT_INSTANCE_CLASSES, JIT_COMPILING_CLASSES, NVIDIA_GPU_CLASSES, REFUSED_GPU_CLASSES } from './gpu-instances.js';

/**
 * The JIT cache lives on the host, so only the first job per instance compiles. 4 GiB is the most
 * CUDA_CACHE_MAXSIZE accepts; the default 256 MiB would evict TensorFlow's kernels.
 */
export const CUDA_CACHE = { hostPath: '/var/cache/mixup-cuda', containerPath: '/cuda-cache', maxBytes: 4 * 1024 ** 3 } as const;
/** The image's job user (Dockerfile `useradd --uid`); the host cache directory is made writable for it. */
export const JOB_UID = 10001;
export const DEFAULT_MAX_VCPUS = 64;
export const DEFAULT_CPU_MAX_VCPUS = 32;
export const DEFAULT_LOG_RETENTION = RetentionDays.ONE_MONTH;
export const DEFAULT_JOB_TIMEOUT = Duration.minutes(120);
export const DEFAULT_JOB_VCPUS = QUEUE_REGISTRY.gpu.jobDefinition.reservation.vcpus;
export const DEFAULT_JOB_MEMORY = Size.mebibytes(QUEUE_REGISTRY.gpu.jobDefinition.reservation.memoryMiB);
export const DEFAULT_CHECKPOINT_EXPIRATION = Duration.days(7);
export const DEFAULT_CAPACITY_WAIT = Duration.minutes(240);

/** Spot reclaims and start failures are retried; with 5 attempts a job survives 4 of them. */
export const JOB_ATTEMPTS = 5;
/** Misconfigured jobs (no instance or CE can ever fit them) are cancelled after Batch's minimum wait. */
export const MISCONFIGURED_WAIT = Duration.minutes(10);
export const NONCURRENT_VERSION_EXPIRATION = Duration.days(30);
export const INCOMPLETE_UPLOAD_EXPIRATION = Duration.days(1);

const MIN_JOB_MEMORY_MIB = 512;
const MIN_JOB_TIMEOUT = Duration.minutes(1);
const MAX_CAPACITY_WAIT = Duration.hours(24);

export interface ResolvedProps {
  /** Which registered queues exist. */
  readonly queues: Readonly<Record<QueueName, boolean>>;
  readonly cpuMaxvCpus: number;
  /** Given by the user (not defaulted): refused together with `instanceTypes`. */
  readonly instanceClasses?: ec2.InstanceClass[];
  /** What the compute environments launch: `instanceTypes`, or the xlarge of each class. */
  readonly instanceTypes: ec2.InstanceType[];
  /** Whether `instanceTypes` came from the user rather than from the classes. */
  readonly explicitInstanceTypes: boolean;
  readonly maxvCpus: number;
  readonly spot: boolean;
  readonly onDemand: boolean;
  readonly jobTimeout: Duration;
  readonly jobVcpus: number;
  readonly jobMemory: Size;
  readonly checkpointExpiration: Duration;
  readonly capacityWait: Duration;
}

/** Every problem of the resolved props, in one error, each naming the option, its value and the rule. */
export function validateProps(p: ResolvedProps): void {
  const problems: string[] = [];
  if (!QUEUES.some((queue) => p.queues[queue])) {
    problems.push(`${QUEUES.map((queue) => `'${queue}' = false`).join(' and ')}; at least one queue must exist`);
  }
  if (p.queues.gpu) problems.push(...gpuProblems(p));
  const cpuJob = jobReservation('cpu');
  if (p.queues.cpu && (!Number.isInteger(p.cpuMaxvCpus) || p.cpuMaxvCpus < cpuJob.vcpus)) {
    problems.push(`'cpuMaxvCpus' = ${p.cpuMaxvCpus} < ${cpuJob.vcpus}, the vCPUs of one CPU job; a job could never be placed`);
  }
  if (p.jobTimeout.toSeconds() < MIN_JOB_TIMEOUT.toSeconds()) {
    problems.push(`'jobTimeout' = ${p.jobTimeout.toSeconds()} s; Batch needs at least ${MIN_JOB_TIMEOUT.toSeconds()} s`);
  }
  if (p.checkpointExpiration.toSeconds() < Duration.days(1).toSeconds()) {
    problems.push(`'checkpointExpiration' = ${p.checkpointExpiration.toHumanString()}; S3 expires objects after whole days, at least 1`);
  }
  const wait = p.capacityWait.toSeconds();
  if (wait < MISCONFIGURED_WAIT.toSeconds() || wait > MAX_CAPACITY_WAIT.toSeconds()) {
    problems.push(
      `'capacityWait' = ${wait} s; Batch accepts ${MISCONFIGURED_WAIT.toSeconds()}–${MAX_CAPACITY_WAIT.toSeconds()} s`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`MixupBatchStack: ${problems.join('; ')}`);
  }
}

function gpuProblems(p: ResolvedProps): string[] {
  const problems: string[] = [];
  if (!p.spot && !p.onDemand) {
    problems.push(`'spot' = false and 'onDemand' = false; at least one compute environment must exist`);
  }
  if (p.instanceClasses !== undefined && p.explicitInstanceTypes) {
    problems.push(`'instanceClasses' and 'instanceTypes' are both set; give one (types name sizes, classes take their xlarge)`);
  }
  if (p.instanceClasses?.length === 0) problems.push(`'instanceClasses' is empty; give at least one GPU instance class`);
  if (p.instanceTypes.length === 0) problems.push(`'instanceTypes' is empty; give at least one GPU instance type`);
  for (const name of p.instanceClasses ?? []) {
    const problem = classProblem(name);
    if (problem) problems.push(`'instanceClasses': ${problem}`);
  }
  if (p.explicitInstanceTypes) {
    for (const type of p.instanceTypes) {
      const problem = instanceTypeProblem(type.toString());
      if (problem) problems.push(`'instanceTypes': ${problem}`);
    }
  }
  if (!Number.isInteger(p.jobVcpus) || p.jobVcpus < 1) {
    problems.push(`'jobVcpus' = ${p.jobVcpus}; must be a whole number of at least 1`);
  }
  if (!Number.isInteger(p.maxvCpus) || p.maxvCpus < p.jobVcpus) {
    problems.push(`'maxvCpus' = ${p.maxvCpus} < 'jobVcpus' = ${p.jobVcpus}; a job could never be placed`);
  }
  const memory = Token.isUnresolved(p.jobMemory) ? null : p.jobMemory.toMebibytes();
  if (memory !== null && memory < MIN_JOB_MEMORY_MIB) {
    problems.push(`'jobMemory' = ${memory} MiB; must be at least ${MIN_JOB_MEMORY_MIB} MiB`);
  }
  // The xlarge defaults must hold the job; other sizes are the user's choice, and Batch's to check.
  if (!p.explicitInstanceTypes) {
    for (const type of p.instanceTypes) {
      const spec = XLARGE_SPECS[familyOf(type)];
      if (!spec) continue;
      const room = spec.memoryGiB * 1024 - HOST_RESERVED_MIB;
      if (p.jobVcpus > spec.vcpus || (memory !== null && memory > room)) {
        problems.push(
          `'jobVcpus' = ${p.jobVcpus} / 'jobMemory' = ${memory} MiB do not fit ${type} (${spec.vcpus} vCPUs, ${room} MiB for jobs); ` +
            `name a larger size with -c instanceTypes=${familyOf(type)}.2xlarge`,
        );
      }
    }
  }
  return problems;
}
