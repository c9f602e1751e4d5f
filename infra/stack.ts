import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { ManagedEc2EcsComputeEnvironment } from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { Effect, type ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { CHECKPOINT_TAG, DATA_PREFIX, RUNS_PREFIX, SWEEPS_PREFIX } from '../job/shared/layout.js';
import { QUEUE_REGISTRY, QUEUES, type QueueName } from '../job/shared/queues.js';
import { QUEUE_PARAMETERS, ssmParameterName, type StackParameter } from '../job/shared/stack.js';
import { acknowledgeFindings } from './acknowledgements.js';
import type { CpuQueue } from './cpu-queue.js';
import { DEFAULT_INSTANCE_CLASSES, defaultInstanceTypes } from './gpu-instances.js';
import type { GpuQueue } from './gpu-queue.js';
import { createOperatorPolicy } from './operator-policy.js';
import {
  DEFAULT_CAPACITY_WAIT,
  DEFAULT_CHECKPOINT_EXPIRATION,
  DEFAULT_CPU_MAX_VCPUS,
  DEFAULT_JOB_MEMORY,
  DEFAULT_JOB_TIMEOUT,
  DEFAULT_JOB_VCPUS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MAX_VCPUS,
  INCOMPLETE_UPLOAD_EXPIRATION,
  NONCURRENT_VERSION_EXPIRATION,
  validateProps,
  type MixupBatchStackProps,
  type ResolvedProps,
} from './props.js';
import { QUEUE_BUILDERS, type MixupQueue } from './queues.js';

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
 * The cloud side of mixup-batch: one AWS Batch queue per entry of the queue registry (a scale-to-zero
 * GPU one and a Fargate CPU one; either may be left out), the job definitions that run the container
 * image, and the two buckets they read from and write to, published in SSM for the CLI.
 */
export class MixupBatchStack extends Stack {
  readonly vpc: ec2.IVpc;
  readonly dataBucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly logGroup: LogGroup;
  readonly jobRole: Role;
  /** The queues the deploy switches left on, by registry name. */
  readonly queues: Partial<Record<QueueName, MixupQueue>> = {};
  readonly operatorPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: MixupBatchStackProps = {}) {
    super(scope, id, props);

    const logRetention = props.logRetention ?? DEFAULT_LOG_RETENTION;
    const autoDeleteBuckets = props.autoDeleteBuckets ?? false;
    const options: ResolvedProps = {
      queues: Object.fromEntries(QUEUES.map((queue) => [queue, props[queue] ?? true])) as Record<QueueName, boolean>,
      cpuMaxvCpus: props.cpuMaxvCpus ?? DEFAULT_CPU_MAX_VCPUS,
      instanceClasses: props.instanceClasses,
      instanceTypes: props.instanceTypes ?? defaultInstanceTypes(props.instanceClasses ?? DEFAULT_INSTANCE_CLASSES),
      explicitInstanceTypes: props.instanceTypes !== undefined,
      maxvCpus: props.maxvCpus ?? DEFAULT_MAX_VCPUS,
      spot: props.spot ?? true,
      onDemand: props.onDemand ?? true,
      jobTimeout: props.jobTimeout ?? DEFAULT_JOB_TIMEOUT,
      jobVcpus: props.jobVcpus ?? DEFAULT_JOB_VCPUS,
      jobMemory: props.jobMemory ?? DEFAULT_JOB_MEMORY,
      checkpointExpiration: props.checkpointExpiration ?? DEFAULT_CHECKPOINT_EXPIRATION,
      capacityWait: props.capacityWait ?? DEFAULT_CAPACITY_WAIT,
    };
    validateProps(options);

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
          expiration: options.checkpointExpiration,
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

    const imageDirectory = props.imageDirectory ?? REPO_ROOT;
    for (const queue of QUEUES.filter((name) => options.queues[name])) {
      this.queues[queue] = QUEUE_BUILDERS[queue](this, {
        vpc: this.vpc,
        vpcSubnets: props.vpcId ? undefined : { subnetType: ec2.SubnetType.PUBLIC },
        image: (target, buildArgs) => ContainerImage.fromAsset(imageDirectory, { platform: Platform.LINUX_AMD64, exclude: IMAGE_EXCLUDES, target, buildArgs }),
        imageBuildArgs: props.imageBuildArgs,
        jobRole: this.jobRole,
        logGroup: this.logGroup,
        environment: {
          MIXUP_DATA: `s3://${this.dataBucket.bucketName}/${DATA_PREFIX}`,
          MIXUP_OUT: `s3://${this.resultsBucket.bucketName}/${RUNS_PREFIX}`,
          // The SDK v3 does not ask instance metadata for the region.
          AWS_REGION: this.region,
        },
        options,
      });
    }
    const queues = Object.values(this.queues);
    this.operatorPolicy = createOperatorPolicy(this, 'OperatorPolicy', {
      jobQueueArns: queues.map((q) => q.jobQueue.jobQueueArn),
      jobDefinitionArns: queues.map((q) => q.jobDefinition.jobDefinitionArn),
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
      executionRoles: queues.map((q) => q.executionRole),
      computeEnvironments: queues.flatMap((q) => q.computeEnvironments).filter((e) => e instanceof ManagedEc2EcsComputeEnvironment),
    });
  }

  /** The GPU queue, when deployed. */
  get gpuQueue(): GpuQueue | undefined {
    return this.queues.gpu as GpuQueue | undefined;
  }

  /** The CPU (Fargate) queue, when deployed. */
  get cpuQueue(): CpuQueue | undefined {
    return this.queues.cpu as CpuQueue | undefined;
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

  /** Outputs for people, SSM parameters for `mixup sweep` and `mixup results`. */
  private publish(): void {
    const published: (readonly [StackParameter, string, string])[] = [
      ...Object.values(this.queues).flatMap((queue) => {
        const { outputs } = QUEUE_REGISTRY[queue.queueName];
        const keys = QUEUE_PARAMETERS[queue.queueName];
        return [
          [keys.jobQueue, outputs.jobQueue, queue.jobQueue.jobQueueArn],
          [keys.jobDefinition, outputs.jobDefinition, queue.jobDefinition.jobDefinitionArn],
        ] as const;
      }),
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
