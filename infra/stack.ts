import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Size, Stack, Token, type StackProps } from 'aws-cdk-lib';
import {
  Action,
  AllocationStrategy,
  EcsEc2ContainerDefinition,
  EcsJobDefinition,
  EcsMachineImageType,
  JobQueue,
  JobStateTimeLimitActionsAction,
  JobStateTimeLimitActionsReason,
  JobStateTimeLimitActionsState,
  ManagedEc2EcsComputeEnvironment,
  Reason,
  RetryStrategy,
} from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage, LogDriver } from 'aws-cdk-lib/aws-ecs';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { DATA_PREFIX, RUNS_PREFIX, SSM_PARAMETERS, SWEEPS_PREFIX, ssmParameterName } from '../scripts/stack-names.js';
import { acknowledgeFindings } from './acknowledgements.js';

export interface MixupBatchStackProps extends StackProps {
  /**
   * Directory holding the `Dockerfile` of the job image.
   * @default - the repository root
   */
  readonly imageDirectory?: string;
  /**
   * GPU instance classes Batch may launch; Batch picks the size that fits a job.
   * @default [g4dn, g5, g6]
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

export const DEFAULT_INSTANCE_CLASSES = [ec2.InstanceClass.G4DN, ec2.InstanceClass.G5, ec2.InstanceClass.G6];
export const DEFAULT_MAX_VCPUS = 64;
export const DEFAULT_LOG_RETENTION = RetentionDays.ONE_MONTH;
export const DEFAULT_JOB_TIMEOUT = Duration.minutes(120);
export const DEFAULT_JOB_VCPUS = 4;
export const DEFAULT_JOB_MEMORY = Size.mebibytes(14_336);
export const DEFAULT_CHECKPOINT_EXPIRATION = Duration.days(7);
export const DEFAULT_CAPACITY_WAIT = Duration.minutes(240);

/** The object tag the job sets on checkpoint objects; the lifecycle rule that expires them filters on it. */
export const CHECKPOINT_TAG = { key: 'kind', value: 'checkpoint' } as const;
/** Spot reclaims are retried; with 5 attempts a job survives 4 reclaims. */
export const JOB_ATTEMPTS = 5;
/** Misconfigured jobs (no instance or CE can ever fit them) are cancelled after Batch's minimum wait. */
export const MISCONFIGURED_WAIT = Duration.minutes(10);
export const NONCURRENT_VERSION_EXPIRATION = Duration.days(30);
export const INCOMPLETE_UPLOAD_EXPIRATION = Duration.days(1);

const MIN_JOB_MEMORY_MIB = 512;
const MIN_JOB_TIMEOUT = Duration.minutes(1);
const MAX_CAPACITY_WAIT = Duration.hours(24);
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * Never part of the image; keeps staging in cdk.out small and the asset hash stable when only
 * infrastructure, tests or local outputs change. The `.dockerignore` applies as well.
 */
const IMAGE_EXCLUDES = ['.git', 'node_modules', 'cdk.out', 'dist', 'runs', '.cache', 'infra', 'test', 'bench', 'cdk.json', '*.tsbuildinfo'];

/**
 * The cloud side of mixup-batch: a scale-to-zero GPU AWS Batch queue, the job definition that runs the
 * container image, and the two buckets it reads from and writes to, published in SSM for the CLI.
 */
export class MixupBatchStack extends Stack {
  readonly vpc: ec2.IVpc;
  readonly dataBucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly logGroup: LogGroup;
  readonly jobRole: Role;
  readonly computeEnvironments: ManagedEc2EcsComputeEnvironment[];
  readonly jobQueue: JobQueue;
  readonly jobDefinition: EcsJobDefinition;

  constructor(scope: Construct, id: string, props: MixupBatchStackProps = {}) {
    super(scope, id, props);

    const instanceClasses = props.instanceClasses ?? DEFAULT_INSTANCE_CLASSES;
    const maxvCpus = props.maxvCpus ?? DEFAULT_MAX_VCPUS;
    const spot = props.spot ?? true;
    const onDemand = props.onDemand ?? true;
    const autoDeleteBuckets = props.autoDeleteBuckets ?? false;
    const logRetention = props.logRetention ?? DEFAULT_LOG_RETENTION;
    const jobTimeout = props.jobTimeout ?? DEFAULT_JOB_TIMEOUT;
    const jobVcpus = props.jobVcpus ?? DEFAULT_JOB_VCPUS;
    const jobMemory = props.jobMemory ?? DEFAULT_JOB_MEMORY;
    const checkpointExpiration = props.checkpointExpiration ?? DEFAULT_CHECKPOINT_EXPIRATION;
    const capacityWait = props.capacityWait ?? DEFAULT_CAPACITY_WAIT;
    validateProps({ instanceClasses, maxvCpus, spot, onDemand, jobTimeout, jobVcpus, jobMemory, checkpointExpiration, capacityWait });

    this.vpc = this.createVpc(props.vpcId, logRetention, props.s3GatewayEndpoint ?? true);
    const removal = autoDeleteBuckets
      ? { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }
      : { removalPolicy: RemovalPolicy.RETAIN };
    this.dataBucket = new Bucket(this, 'DataBucket', {
      ...secureBucketProps(),
      ...removal,
      lifecycleRules: [{ id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: INCOMPLETE_UPLOAD_EXPIRATION }],
    });
    this.resultsBucket = new Bucket(this, 'ResultsBucket', {
      ...secureBucketProps(),
      ...removal,
      versioned: true,
      lifecycleRules: [
        {
          // Run ids vary, so no prefix can select `…/<run-id>/checkpoints/`; the job tags them instead.
          id: 'ExpireCheckpoints',
          tagFilters: { [CHECKPOINT_TAG.key]: CHECKPOINT_TAG.value },
          expiration: checkpointExpiration,
          // A checkpoint is overwritten every epoch: drop the old versions quickly.
          noncurrentVersionExpiration: Duration.days(1),
        },
        { id: 'ExpireOldVersions', noncurrentVersionExpiration: NONCURRENT_VERSION_EXPIRATION, expiredObjectDeleteMarker: true },
        // S3 refuses this action in a rule that has a tag filter, so it has a rule of its own.
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: INCOMPLETE_UPLOAD_EXPIRATION },
      ],
    });

    this.logGroup = new LogGroup(this, 'JobLogs', { retention: logRetention });
    this.jobRole = this.createJobRole(this.dataBucket, this.resultsBucket);

    const subnets = props.vpcId ? undefined : { subnetType: ec2.SubnetType.PUBLIC };
    this.computeEnvironments = [
      ...(spot ? [this.createComputeEnvironment('SpotGpu', true, instanceClasses, maxvCpus, subnets)] : []),
      ...(onDemand ? [this.createComputeEnvironment('OnDemandGpu', false, instanceClasses, maxvCpus, subnets)] : []),
    ];
    this.jobQueue = new JobQueue(this, 'JobQueue', {
      computeEnvironments: this.computeEnvironments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      jobStateTimeLimitActions: [
        stuckRunnable(JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, capacityWait),
        stuckRunnable(JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, MISCONFIGURED_WAIT),
        stuckRunnable(JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, MISCONFIGURED_WAIT),
      ],
    });

    const container = new EcsEc2ContainerDefinition(this, 'Container', {
      image: ContainerImage.fromAsset(props.imageDirectory ?? REPO_ROOT, {
        platform: Platform.LINUX_AMD64,
        exclude: IMAGE_EXCLUDES,
      }),
      gpu: 1,
      cpu: jobVcpus,
      memory: jobMemory,
      jobRole: this.jobRole,
      logging: LogDriver.awsLogs({ logGroup: this.logGroup, streamPrefix: 'mixup' }),
      environment: {
        MIXUP_DATA: `s3://${this.dataBucket.bucketName}/${DATA_PREFIX}`,
        MIXUP_OUT: `s3://${this.resultsBucket.bucketName}/${RUNS_PREFIX}`,
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
        // The SDK v3 does not ask instance metadata for the region.
        AWS_REGION: this.region,
      },
    });
    this.jobDefinition = new EcsJobDefinition(this, 'JobDefinition', {
      container,
      timeout: jobTimeout,
      retryAttempts: JOB_ATTEMPTS,
      retryStrategies: [
        RetryStrategy.of(Action.RETRY, Reason.SPOT_INSTANCE_RECLAIMED),
        RetryStrategy.of(Action.EXIT, Reason.custom({ onReason: '*' })),
      ],
      propagateTags: true,
    });

    this.publish();
    acknowledgeFindings(this, {
      dataBucket: this.dataBucket,
      resultsBucket: this.resultsBucket,
      jobRole: this.jobRole,
      executionRole: container.executionRole,
      computeEnvironments: this.computeEnvironments,
    });
  }

  private createVpc(vpcId: string | undefined, logRetention: RetentionDays, s3GatewayEndpoint: boolean): ec2.IVpc {
    const vpc = vpcId
      ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId })
      : new ec2.Vpc(this, 'Vpc', {
        // Jobs only talk to S3, ECR and CloudWatch: public subnets avoid a NAT gateway's hourly charge.
        natGateways: 0,
        subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
        flowLogs: {
          Rejected: {
            trafficType: ec2.FlowLogTrafficType.REJECT,
            destination: ec2.FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: logRetention })),
          },
        },
      });
    if (s3GatewayEndpoint) {
      vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    }
    return vpc;
  }

  /** The role the container runs as: the data bucket read-only, runs and sweeps in results read/write. */
  private createJobRole(data: IBucket, results: IBucket): Role {
    const role = new Role(this, 'JobRole', {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'mixup-batch job: reads the data bucket, writes runs and sweeps to the results bucket',
    });
    // Without s3:ListBucket a missing key answers 403 instead of 404, and resume could not tell.
    // Not narrowed by an s3:prefix condition: GetObject on a missing key (manifest.json, SHA256SUMS)
    // gets its 404 from this permission, and that implicit check carries no prefix to match; the
    // data prefix is also the user's choice (MIXUP_DATA). Listing names only, never contents.
    role.addToPolicy(new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['s3:ListBucket'],
      resources: [data.bucketArn, results.bucketArn],
    }));
    role.addToPolicy(new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['s3:GetObject'],
      resources: [data.arnForObjects('*')],
    }));
    role.addToPolicy(new PolicyStatement({
      effect: Effect.ALLOW,
      // PutObjectTagging: checkpoints are uploaded with the `kind=checkpoint` tag.
      actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: [results.arnForObjects(`${RUNS_PREFIX}/*`), results.arnForObjects(`${SWEEPS_PREFIX}/*`)],
    }));
    return role;
  }

  private createComputeEnvironment(
    id: string,
    spot: boolean,
    instanceClasses: ec2.InstanceClass[],
    maxvCpus: number,
    vpcSubnets: ec2.SubnetSelection | undefined,
  ): ManagedEc2EcsComputeEnvironment {
    return new ManagedEc2EcsComputeEnvironment(this, id, {
      vpc: this.vpc,
      vpcSubnets,
      spot,
      allocationStrategy: spot ? AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : AllocationStrategy.BEST_FIT_PROGRESSIVE,
      instanceClasses,
      // Otherwise Batch adds its default CPU classes, on which a GPU job never runs.
      useOptimalInstanceClasses: false,
      // A non-GPU AMI leaves GPU jobs RUNNABLE forever; AL2 environments can no longer be created.
      images: [{ imageType: EcsMachineImageType.ECS_AL2023_NVIDIA }],
      minvCpus: 0,
      maxvCpus,
    });
  }

  /** Outputs for people, SSM parameters for `mixup sweep` and `mixup results`. */
  private publish(): void {
    const published: [keyof typeof SSM_PARAMETERS, string, string][] = [
      ['jobQueueArn', 'JobQueueArn', this.jobQueue.jobQueueArn],
      ['jobDefinitionArn', 'JobDefinitionArn', this.jobDefinition.jobDefinitionArn],
      ['dataBucket', 'DataBucketName', this.dataBucket.bucketName],
      ['resultsBucket', 'ResultsBucketName', this.resultsBucket.bucketName],
    ];
    for (const [key, outputId, value] of published) {
      new StringParameter(this, `${outputId}Parameter`, {
        parameterName: ssmParameterName(this.stackName, key),
        stringValue: value,
        description: `mixup-batch ${key}, read by the mixup CLI`,
      });
      new CfnOutput(this, outputId, { value });
    }
    new CfnOutput(this, 'DataUri', {
      value: `s3://${this.dataBucket.bucketName}/${DATA_PREFIX}`,
      description: 'Seed it once: npx mixup seed-data --to <this>',
    });
  }
}

function secureBucketProps() {
  return {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
  };
}

function stuckRunnable(reason: JobStateTimeLimitActionsReason, maxTime: Duration) {
  return { reason, maxTime, action: JobStateTimeLimitActionsAction.CANCEL, state: JobStateTimeLimitActionsState.RUNNABLE };
}

interface ResolvedProps {
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

function validateProps(p: ResolvedProps): void {
  const problems: string[] = [];
  if (!p.spot && !p.onDemand) {
    problems.push(`'spot' = false and 'onDemand' = false; at least one compute environment must exist`);
  }
  if (p.instanceClasses.length === 0) {
    problems.push(`'instanceClasses' is empty; give at least one GPU instance class`);
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
