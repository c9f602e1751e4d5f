import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Action,
  AllocationStrategy,
  EcsEc2ContainerDefinition,
  EcsJobDefinition,
  EcsMachineImageType,
  EcsVolume,
  JobQueue,
  ManagedEc2EcsComputeEnvironment,
  Reason,
  RetryStrategy,
} from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage, LogDriver } from 'aws-cdk-lib/aws-ecs';
import { Effect, type IRole, type ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { CHECKPOINT_TAG, DATA_PREFIX, RUNS_PREFIX, SWEEPS_PREFIX } from '../job/shared/layout.js';
import { CPU_IMAGE_TARGET, REQUIRE_GPU_ENV, SSM_PARAMETERS, ssmParameterName } from '../job/shared/stack.js';
import { acknowledgeFindings } from './acknowledgements.js';
import { CpuQueue } from './cpu-queue.js';
import { createGpuHostLaunchTemplate } from './gpu-hosts.js';
import { createOperatorPolicy } from './operator-policy.js';
import {
  CUDA_CACHE,
  DEFAULT_CAPACITY_WAIT,
  DEFAULT_CHECKPOINT_EXPIRATION,
  DEFAULT_CPU_MAX_VCPUS,
  DEFAULT_INSTANCE_CLASSES,
  DEFAULT_JOB_MEMORY,
  DEFAULT_JOB_TIMEOUT,
  DEFAULT_JOB_VCPUS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MAX_VCPUS,
  INCOMPLETE_UPLOAD_EXPIRATION,
  JOB_ATTEMPTS,
  NONCURRENT_VERSION_EXPIRATION,
  validateProps,
  type MixupBatchStackProps,
  type ResolvedProps,
} from './props.js';
import { stuckRunnableActions } from './queue-policy.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * Never part of the image; keeps staging in cdk.out small and the asset hash stable when only
 * infrastructure, the user's commands (scripts/, bin/), tests or local outputs change. The
 * `.dockerignore` applies as well.
 */
const IMAGE_EXCLUDES = [
  '.git', 'node_modules', 'cdk.out', 'dist', 'runs', '.cache', 'infra', 'scripts', 'bin', 'test', 'bench', 'cdk.json', '*.tsbuildinfo',
];

/**
 * The cloud side of mixup-batch: a scale-to-zero GPU AWS Batch queue and a Fargate (CPU) one, either
 * of which may be left out, the job definitions that run the container image, and the two buckets they
 * read from and write to, published in SSM for the CLI.
 */
export class MixupBatchStack extends Stack {
  readonly vpc: ec2.IVpc;
  readonly dataBucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly logGroup: LogGroup;
  readonly jobRole: Role;
  /** The GPU path's; empty, with no queue or job definition, when deployed with `gpu: false`. */
  computeEnvironments: ManagedEc2EcsComputeEnvironment[] = [];
  jobQueue?: JobQueue;
  jobDefinition?: EcsJobDefinition;
  /** IMDSv2 only, hop limit 1, and the CUDA cache directory: the GPU hosts' launch template. */
  gpuHosts?: ec2.LaunchTemplate;
  private gpuExecutionRole?: IRole;
  /** The CPU (Fargate) path; absent when deployed with `cpu: false`. */
  readonly cpuQueue?: CpuQueue;
  readonly operatorPolicy: ManagedPolicy;

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
    const gpu = props.gpu ?? true;
    const cpu = props.cpu ?? true;
    const cpuMaxvCpus = props.cpuMaxvCpus ?? DEFAULT_CPU_MAX_VCPUS;
    const resolved: ResolvedProps = {
      gpu, cpu, cpuMaxvCpus, instanceClasses, maxvCpus, spot, onDemand, jobTimeout, jobVcpus, jobMemory, checkpointExpiration, capacityWait,
    };
    validateProps(resolved);

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
    const environment = {
      MIXUP_DATA: `s3://${this.dataBucket.bucketName}/${DATA_PREFIX}`,
      MIXUP_OUT: `s3://${this.resultsBucket.bucketName}/${RUNS_PREFIX}`,
      // The SDK v3 does not ask instance metadata for the region.
      AWS_REGION: this.region,
    };
    if (gpu) this.createGpuPath(resolved, props.imageDirectory ?? REPO_ROOT, props.imageBuildArgs, subnets, environment);
    if (cpu) {
      this.cpuQueue = new CpuQueue(this, 'Cpu', {
        vpc: this.vpc,
        vpcSubnets: subnets,
        image: ContainerImage.fromAsset(props.imageDirectory ?? REPO_ROOT, {
          platform: Platform.LINUX_AMD64,
          exclude: IMAGE_EXCLUDES,
          target: CPU_IMAGE_TARGET,
        }),
        jobRole: this.jobRole,
        logGroup: this.logGroup,
        environment,
        jobTimeout,
        attempts: JOB_ATTEMPTS,
        capacityWait,
        maxvCpus: cpuMaxvCpus,
      });
    }

    const queues = [
      ...(this.jobQueue && this.jobDefinition ? [{ queue: this.jobQueue, definition: this.jobDefinition }] : []),
      ...(this.cpuQueue ? [{ queue: this.cpuQueue.jobQueue, definition: this.cpuQueue.jobDefinition }] : []),
    ];
    this.operatorPolicy = createOperatorPolicy(this, 'OperatorPolicy', {
      jobQueueArns: queues.map((q) => q.queue.jobQueueArn),
      jobDefinitionArns: queues.map((q) => q.definition.jobDefinitionArn),
      dataBucket: this.dataBucket,
      resultsBucket: this.resultsBucket,
      logGroupArn: this.logGroup.logGroupArn,
    });
    new CfnOutput(this, 'OperatorPolicyName', {
      value: this.operatorPolicy.managedPolicyName,
      description: 'Attach to whoever runs mixup sweep/results/doctor/seed-data: aws iam attach-user-policy --policy-arn <OperatorPolicyArn>',
    });
    new CfnOutput(this, 'OperatorPolicyArn', { value: this.operatorPolicy.managedPolicyArn });

    this.publish();
    acknowledgeFindings(this, {
      operatorPolicy: this.operatorPolicy,
      dataBucket: this.dataBucket,
      resultsBucket: this.resultsBucket,
      jobRole: this.jobRole,
      executionRoles: [this.gpuExecutionRole, this.cpuQueue?.container.executionRole].filter((role) => role !== undefined),
      computeEnvironments: this.computeEnvironments,
    });
  }

  /** The GPU queue: EC2 GPU compute environments (spot, then on-demand), the queue and the job definition. */
  private createGpuPath(
    options: ResolvedProps,
    imageDirectory: string,
    imageBuildArgs: Record<string, string> | undefined,
    subnets: ec2.SubnetSelection | undefined,
    sharedEnvironment: Record<string, string>,
  ): void {
    const { spot, onDemand, instanceClasses, maxvCpus, capacityWait, jobVcpus, jobMemory, jobTimeout } = options;
    this.gpuHosts = createGpuHostLaunchTemplate(this, 'GpuHosts');
    this.computeEnvironments = [
      ...(spot ? [this.createComputeEnvironment('SpotGpu', true, instanceClasses, maxvCpus, subnets)] : []),
      ...(onDemand ? [this.createComputeEnvironment('OnDemandGpu', false, instanceClasses, maxvCpus, subnets)] : []),
    ];
    this.jobQueue = new JobQueue(this, 'JobQueue', {
      computeEnvironments: this.computeEnvironments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      jobStateTimeLimitActions: stuckRunnableActions(capacityWait),
    });

    const container = new EcsEc2ContainerDefinition(this, 'Container', {
      image: ContainerImage.fromAsset(imageDirectory, {
        platform: Platform.LINUX_AMD64,
        exclude: IMAGE_EXCLUDES,
        buildArgs: imageBuildArgs,
      }),
      // The image's CMD says the same; naming it here keeps the definition self-describing, and Batch
      // emulators (moto) that substitute their own default command when a definition has none run it too.
      command: ['run'],
      gpu: 1,
      cpu: jobVcpus,
      memory: jobMemory,
      jobRole: this.jobRole,
      logging: LogDriver.awsLogs({ logGroup: this.logGroup, streamPrefix: 'mixup' }),
      // g5/g6 compile libtensorflow's PTX at start; the cache on the host makes that once per instance.
      volumes: [EcsVolume.host({ name: 'cuda-cache', hostPath: CUDA_CACHE.hostPath, containerPath: CUDA_CACHE.containerPath })],
      environment: {
        ...sharedEnvironment,
        CUDA_CACHE_PATH: CUDA_CACHE.containerPath,
        CUDA_CACHE_MAXSIZE: String(CUDA_CACHE.maxBytes),
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
        // A job that cannot see a GPU exits 1 at once instead of training on the CPU for hours.
        [REQUIRE_GPU_ENV]: '1',
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
    this.gpuExecutionRole = container.executionRole;
  }

  private createVpc(vpcId: string | undefined, logRetention: RetentionDays, s3GatewayEndpoint: boolean): ec2.IVpc {
    const vpc = vpcId
      ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId })
      : new ec2.Vpc(this, 'Vpc', {
        // Jobs only talk to S3, ECR and CloudWatch: public subnets avoid a NAT gateway's hourly charge.
        natGateways: 0,
        // With an environment (the CLI's account/region) this is 3 AZs: more spot pools to draw GPUs from.
        maxAzs: 3,
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
      launchTemplate: this.gpuHosts,
    });
  }

  /** Outputs for people, SSM parameters for `mixup sweep` and `mixup results`. */
  private publish(): void {
    const published: (readonly [keyof typeof SSM_PARAMETERS, string, string])[] = [
      ...(this.jobQueue && this.jobDefinition
        ? [
            ['jobQueueArn', 'JobQueueArn', this.jobQueue.jobQueueArn],
            ['jobDefinitionArn', 'JobDefinitionArn', this.jobDefinition.jobDefinitionArn],
          ] as const
        : []),
      ...(this.cpuQueue
        ? [
            ['cpuJobQueueArn', 'CpuJobQueueArn', this.cpuQueue.jobQueue.jobQueueArn],
            ['cpuJobDefinitionArn', 'CpuJobDefinitionArn', this.cpuQueue.jobDefinition.jobDefinitionArn],
          ] as const
        : []),
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
