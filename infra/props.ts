/**
 * The stack's deploy-time options: their types, their defaults (the one home of every default; cdk.json
 * sets none) and the checks that refuse a stack Batch could never run.
 */
import { Duration, Size, Token, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CPU_JOB_RESOURCES } from '../job/shared/stack.js';

export interface MixupBatchStackProps extends StackProps {
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
   * @default 32 (16 CPU jobs of 2 vCPUs at once)
   */
  readonly cpuMaxvCpus?: number;
  /**
   * Docker build arguments of the job images, e.g. BUILD_BASE and CPU_BASE (a mirrored, digest-pinned
   * Node base); see the Dockerfile.
   * @default - none: the Dockerfile's defaults
   */
  readonly imageBuildArgs?: Record<string, string>;
  /**
   * GPU instance classes Batch may launch; Batch picks the size that fits a job. g4dn (T4, sm_75) runs
   * the image's compiled kernels; g5/g6/g6e (sm_86/89) compile PTX at their first job (see
   * JIT_COMPILING_CLASSES), cached on the host for the next ones.
   * @default [g4dn]
   */
  readonly instanceClasses?: ec2.InstanceClass[];
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

/**
 * x86-64 NVIDIA GPU classes the image runs on: Batch's ECS_AL2023_NVIDIA AMI drives them, they have
 * one-GPU sizes, and cuDNN 8.1 (what libtensorflow 2.9.1 loads) supports their GPU. g4ad has AMD GPUs
 * and g5g is Arm (the image is amd64); g3 and p2 GPUs are too old for the current driver.
 */
export const NVIDIA_GPU_CLASSES: readonly string[] = [
  ec2.InstanceClass.G4DN, ec2.InstanceClass.G5, ec2.InstanceClass.G6, ec2.InstanceClass.G6E, ec2.InstanceClass.P3,
];

/** NVIDIA classes that are refused, with the one-line reason a user reads at synth. */
export const REFUSED_GPU_CLASSES: Readonly<Record<string, string>> = {
  [ec2.InstanceClass.P3DN]: 'p3dn has only an 8-GPU size (p3dn.24xlarge); a job uses one GPU',
  [ec2.InstanceClass.P4D]: 'p4d has only an 8-GPU size; a job uses one GPU',
  [ec2.InstanceClass.P4DE]: 'p4de has only an 8-GPU size; a job uses one GPU',
  [ec2.InstanceClass.P5]: 'p5 (H100, sm_90) is 8-GPU and newer than cuDNN 8.1 supports',
  [ec2.InstanceClass.P5E]: 'p5e (H200, sm_90) is 8-GPU and newer than cuDNN 8.1 supports',
  [ec2.InstanceClass.P5EN]: 'p5en (H200, sm_90) is 8-GPU and newer than cuDNN 8.1 supports',
  [ec2.InstanceClass.G7E]: 'g7e (Blackwell, sm_120) is newer than CUDA 11.2 and cuDNN 8.1 support',
};

/** libtensorflow 2.9.1 carries kernels compiled for sm_35…75 and compute_80 PTX: a T4 runs them as they are. */
export const DEFAULT_INSTANCE_CLASSES = [ec2.InstanceClass.G4DN];
/** GPUs newer than sm_75 (A10G 8.6, L4 and L40S 8.9) JIT-compile the PTX, minutes per new container. */
export const JIT_COMPILING_CLASSES: readonly string[] = [ec2.InstanceClass.G5, ec2.InstanceClass.G6, ec2.InstanceClass.G6E];
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
export const DEFAULT_JOB_VCPUS = 4;
export const DEFAULT_JOB_MEMORY = Size.mebibytes(14_336);
export const DEFAULT_CHECKPOINT_EXPIRATION = Duration.days(7);
export const DEFAULT_CAPACITY_WAIT = Duration.minutes(240);

/** Spot reclaims are retried; with 5 attempts a job survives 4 reclaims. */
export const JOB_ATTEMPTS = 5;
/** Misconfigured jobs (no instance or CE can ever fit them) are cancelled after Batch's minimum wait. */
export const MISCONFIGURED_WAIT = Duration.minutes(10);
export const NONCURRENT_VERSION_EXPIRATION = Duration.days(30);
export const INCOMPLETE_UPLOAD_EXPIRATION = Duration.days(1);

const MIN_JOB_MEMORY_MIB = 512;
const MIN_JOB_TIMEOUT = Duration.minutes(1);
const MAX_CAPACITY_WAIT = Duration.hours(24);

export interface ResolvedProps {
  readonly gpu: boolean;
  readonly cpu: boolean;
  readonly cpuMaxvCpus: number;
  readonly instanceClasses: ec2.InstanceClass[];
  readonly maxvCpus: number;
  readonly spot: boolean;
  readonly onDemand: boolean;
  readonly jobTimeout: Duration;
  readonly jobVcpus: number;
  readonly jobMemory: Size;
  readonly checkpointExpiration: Duration;
  readonly capacityWait: Duration;
}

export function validateProps(p: ResolvedProps): void {
  const problems: string[] = [];
  if (!p.gpu && !p.cpu) {
    problems.push(`'gpu' = false and 'cpu' = false; at least one queue must exist`);
  }
  if (p.cpu && (!Number.isInteger(p.cpuMaxvCpus) || p.cpuMaxvCpus < CPU_JOB_RESOURCES.vcpus)) {
    problems.push(`'cpuMaxvCpus' = ${p.cpuMaxvCpus} < ${CPU_JOB_RESOURCES.vcpus}, the vCPUs of one CPU job; a job could never be placed`);
  }
  if (p.gpu && !p.spot && !p.onDemand) {
    problems.push(`'spot' = false and 'onDemand' = false; at least one compute environment must exist`);
  }
  if (p.instanceClasses.length === 0) {
    problems.push(`'instanceClasses' is empty; give at least one GPU instance class`);
  }
  for (const name of p.instanceClasses) {
    if (REFUSED_GPU_CLASSES[name] !== undefined) problems.push(`'instanceClasses': ${REFUSED_GPU_CLASSES[name]}`);
  }
  if (!Number.isInteger(p.jobVcpus) || p.jobVcpus < 1) {
    problems.push(`'jobVcpus' = ${p.jobVcpus}; must be a whole number of at least 1`);
  }
  if (!Number.isInteger(p.maxvCpus) || p.maxvCpus < p.jobVcpus) {
    problems.push(`'maxvCpus' = ${p.maxvCpus} < 'jobVcpus' = ${p.jobVcpus}; a job could never be placed`);
  }
  if (!Token.isUnresolved(p.jobMemory) && p.jobMemory.toMebibytes() < MIN_JOB_MEMORY_MIB) {
    problems.push(`'jobMemory' = ${p.jobMemory.toMebibytes()} MiB; must be at least ${MIN_JOB_MEMORY_MIB} MiB`);
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

