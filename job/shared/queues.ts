/**
 * The stack's job queues, one entry each: how its jobs compute, what its job definition runs and
 * reserves, the SSM parameters and outputs that publish it, the account quotas its compute environments
 * draw on and the prices its cost estimate uses. Read by the CDK stack (one construct per entry,
 * infra/queues.ts), `mixup sweep --queue` and `mixup doctor --queue` (the names), `mixup doctor` (the
 * quotas) and `mixup results` (the prices). A new queue is one entry here plus its construct in infra/;
 * the type checker asks for the construct once the entry exists.
 *
 * Prices are USD, Linux, x86, region us-east-1, as published (this machine cannot reach aws.amazon.com,
 * so they were not re-read live); edit them here, with `PRICE_BASIS.date`, rather than any formula.
 */

/** How a queue's jobs get their machine: EC2 instances Batch launches, or Fargate tasks. */
export type ComputeKind = 'ec2' | 'fargate';

/** Batch's `computeResources.type` of a managed compute environment. */
export type EnvironmentType = 'EC2' | 'SPOT' | 'FARGATE' | 'FARGATE_SPOT';

/** What one job reserves; Batch places it, Fargate bills it. */
export interface JobReservation {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly gpus: number;
}

export interface QuotaSpec {
  readonly serviceCode: string;
  readonly quotaCode: string;
  readonly name: string;
  /** How to avoid needing this quota, e.g. a deploy switch; absent when there is none. */
  readonly alternative?: string;
}

/** A quota that compute environments of one type draw on (EC2: of the instance families that start with `familyPrefix`). */
export interface QuotaRule {
  readonly environmentType: EnvironmentType;
  readonly familyPrefix?: string;
  readonly quota: QuotaSpec;
}

/** Per instance-hour: an EC2 job holds a whole instance. */
export interface InstancePrice {
  readonly onDemand: number;
  /** Typical Spot prices; Spot moves hourly, so this is a range. */
  readonly spotTypical: { readonly low: number; readonly high: number };
}

export type QueuePrice =
  /** EC2: one instance per job, priced per instance-hour over the instance types the estimate spans. */
  | { readonly per: 'instance-hour'; readonly instances: Readonly<Record<string, InstancePrice>>; readonly source: string }
  /**
   * Fargate: per vCPU-hour and GB-hour of what the job reserved; Spot is a discount off on-demand that
   * moves with supply and demand (AWS states up to 70 %; it has been 50–70 %).
   */
  | {
      readonly per: 'reserved-hour';
      readonly vcpuHour: number;
      readonly gbHour: number;
      readonly spotDiscount: { readonly min: number; readonly max: number };
      readonly source: string;
    };

export interface QueueSpec {
  /** What the `--queue` help says of it, after its compute kind. */
  readonly summary: string;
  readonly compute: ComputeKind;
  readonly jobDefinition: {
    /** The Dockerfile stage of its image; undefined: the file's last stage. */
    readonly imageTarget?: string;
    readonly logStreamPrefix: string;
    /** Whether the job refuses to train without a GPU (`REQUIRE_GPU_ENV`). */
    readonly requiresGpu: boolean;
    /** What one job reserves when it trains one arm (a sweep's jobs do). @see jobReservation */
    readonly reservation: JobReservation;
    /** Whether a job that trains both arms reserves twice as much (one vCPU per arm). */
    readonly reservationPerArm: boolean;
  };
  /** Parameter names under `/<stack>/`, and the stack's output ids, of the queue's ARN and its job definition's. */
  readonly ssm: { readonly jobQueue: string; readonly jobDefinition: string };
  readonly outputs: { readonly jobQueue: string; readonly jobDefinition: string };
  readonly quotas: readonly QuotaRule[];
  readonly price: QueuePrice;
}

/** The Dockerfile stage of the CPU image (no CUDA); the GPU image is the file's last stage. */
export const CPU_IMAGE_TARGET = 'cpu';

export const PRICE_BASIS = { date: '2026-06', region: 'us-east-1', currency: 'USD' } as const;

const G_SPOT: QuotaSpec = {
  serviceCode: 'ec2', quotaCode: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests',
  alternative: 'or deploy without the spot environment: npx cdk deploy -c spot=false',
};
const G_ON_DEMAND: QuotaSpec = {
  serviceCode: 'ec2', quotaCode: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances',
  alternative: 'or deploy without the on-demand environment: npx cdk deploy -c onDemand=false',
};

/**
 * Insertion order is the order `mixup sweep` tries without `--queue`: the first the stack has. The
 * GPU queue keeps the SSM names and output ids it had before the CPU one existed.
 */
export const QUEUE_REGISTRY = {
  gpu: {
    summary: 'GPU instances, Spot first, then on-demand',
    compute: 'ec2',
    jobDefinition: {
      logStreamPrefix: 'mixup',
      requiresGpu: true,
      // A whole *.xlarge: 16 GiB less what the ECS agent and the OS keep. The stack's jobVcpus/jobMemory change it.
      reservation: { vcpus: 4, memoryMiB: 14_336, gpus: 1 },
      reservationPerArm: false,
    },
    ssm: { jobQueue: 'job-queue-arn', jobDefinition: 'job-definition-arn' },
    outputs: { jobQueue: 'JobQueueArn', jobDefinition: 'JobDefinitionArn' },
    quotas: [
      { environmentType: 'SPOT', familyPrefix: 'g', quota: G_SPOT },
      { environmentType: 'EC2', familyPrefix: 'g', quota: G_ON_DEMAND },
    ],
    price: {
      per: 'instance-hour',
      instances: {
        'g4dn.xlarge': { onDemand: 0.526, spotTypical: { low: 0.16, high: 0.25 } },
        'g5.xlarge': { onDemand: 1.006, spotTypical: { low: 0.3, high: 0.45 } },
        'g6.xlarge': { onDemand: 0.8048, spotTypical: { low: 0.25, high: 0.4 } },
      },
      source: 'https://aws.amazon.com/ec2/pricing/on-demand/ and https://aws.amazon.com/ec2/spot/pricing/',
    },
  },
  cpu: {
    summary: 'the CPU image, Fargate Spot first, then on-demand',
    compute: 'fargate',
    jobDefinition: {
      imageTarget: CPU_IMAGE_TARGET,
      logStreamPrefix: 'mixup-cpu',
      requiresGpu: false,
      // A sweep job trains one arm, on one thread. A one-arm run peaks at about 350 MiB (docs/deploy.md);
      // 1 vCPU / 2 GiB is the smallest Fargate size with one vCPU.
      reservation: { vcpus: 1, memoryMiB: 2048, gpus: 0 },
      reservationPerArm: true,
    },
    ssm: { jobQueue: 'cpu-job-queue-arn', jobDefinition: 'cpu-job-definition-arn' },
    outputs: { jobQueue: 'CpuJobQueueArn', jobDefinition: 'CpuJobDefinitionArn' },
    quotas: [
      { environmentType: 'FARGATE', quota: { serviceCode: 'fargate', quotaCode: 'L-3032A538', name: 'Fargate On-Demand vCPU resource count' } },
      { environmentType: 'FARGATE_SPOT', quota: { serviceCode: 'fargate', quotaCode: 'L-36FBB829', name: 'Fargate Spot vCPU resource count' } },
    ],
    price: {
      per: 'reserved-hour',
      vcpuHour: 0.04048,
      gbHour: 0.004445,
      spotDiscount: { min: 0.5, max: 0.7 },
      source: 'https://aws.amazon.com/fargate/pricing/',
    },
  },
} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUE_REGISTRY;
export const QUEUES = Object.keys(QUEUE_REGISTRY) as [QueueName, ...QueueName[]];
/** The queue a sweep uses when the stack has it and `--queue` is absent. */
export const DEFAULT_QUEUE: QueueName = 'gpu';

export function queueSpec(name: QueueName): QueueSpec {
  return QUEUE_REGISTRY[name];
}

const COMPUTE_NAMES: Readonly<Record<ComputeKind, string>> = { ec2: 'EC2', fargate: 'Fargate' };

/** `gpu (EC2: GPU instances, …), cpu (Fargate: the CPU image, …)`: the queues, for `--queue` help. */
export function describeQueues(): string {
  return QUEUES.map((name) => `${name} (${COMPUTE_NAMES[queueSpec(name).compute]}: ${queueSpec(name).summary})`).join(', ');
}

/** What one job of `queue` reserves when it trains `arms` arms (1 for a sweep's jobs, 2 for a run of both). */
export function jobReservation(queue: QueueName, arms: 1 | 2 = 1): JobReservation {
  const { reservation, reservationPerArm } = queueSpec(queue).jobDefinition;
  const factor = reservationPerArm ? arms : 1;
  return { vcpus: reservation.vcpus * factor, memoryMiB: reservation.memoryMiB * factor, gpus: reservation.gpus };
}
