/**
 * The GPU queue: EC2 GPU compute environments (Spot first, on-demand second) that scale to zero, their
 * hosts' launch template, a job queue and the job definition that runs the GPU image on one GPU.
 */
import type { Duration, Size } from 'aws-cdk-lib';
import {
  AllocationStrategy,
  CfnComputeEnvironment,
  EcsEc2ContainerDefinition,
  EcsJobDefinition,
  EcsMachineImageType,
  EcsVolume,
  JobQueue,
  ManagedEc2EcsComputeEnvironment,
  Reason,
} from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LogDriver, type ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { queueSpec } from '../job/shared/queues.js';
import { REQUIRE_GPU_ENV } from '../job/shared/stack.js';
import { createGpuHostLaunchTemplate } from './gpu-hosts.js';
import { DEFAULT_INSTANCE_CLASSES, defaultInstanceTypes } from './gpu-instances.js';
import {
  CUDA_CACHE,
  DEFAULT_CAPACITY_WAIT,
  DEFAULT_JOB_MEMORY,
  DEFAULT_JOB_TIMEOUT,
  DEFAULT_JOB_VCPUS,
  DEFAULT_MAX_VCPUS,
  JOB_ATTEMPTS,
  JOB_UID,
} from './props.js';
import { retryStrategies, stuckRunnableActions } from './queue-policy.js';
import type { MixupQueue } from './mixup-queue.js';

export interface GpuQueueProps {
  readonly vpc: ec2.IVpc;
  /**
   * Where the instances launch.
   * @default - the VPC's default subnet selection
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The GPU image (the Dockerfile's last stage). */
  readonly image: ContainerImage;
  /** The role the container runs as. */
  readonly jobRole: IRole;
  readonly logGroup: ILogGroup;
  /**
   * Variables every job gets, besides the GPU ones this construct adds.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Instance types Batch may launch; name sizes, not families, or Batch may pick any size of a family.
   * @default - g4dn.xlarge (one T4, 4 vCPUs, 16 GiB)
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * Upper bound of each compute environment, in vCPUs.
   * @default 64 (16 one-GPU jobs of 4 vCPUs at once)
   */
  readonly maxvCpus?: number;
  /**
   * Whether the Spot compute environment exists; it comes first in the queue.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Whether the on-demand compute environment exists; it comes after Spot in the queue.
   * @default true
   */
  readonly onDemand?: boolean;
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
   * Wall-clock limit of one attempt.
   * @default Duration.minutes(120)
   */
  readonly jobTimeout?: Duration;
  /**
   * Attempts per job, shared by Spot reclaims and start failures.
   * @default 5
   */
  readonly attempts?: number;
  /**
   * How long a job may wait RUNNABLE for lack of capacity before Batch cancels it.
   * @default Duration.minutes(240)
   */
  readonly capacityWait?: Duration;
  /**
   * The uid the job runs as: the image's job user, pinned in the job definition and kept off instance
   * metadata by the hosts' packet filter (gpu-hosts.ts).
   * @default 10001
   */
  readonly jobUid?: number;
}

export class GpuQueue extends Construct implements MixupQueue {
  readonly queueName = 'gpu' as const;
  /** Spot (order 1), then on-demand (order 2), as enabled. */
  readonly computeEnvironments: ManagedEc2EcsComputeEnvironment[];
  /** The hosts' launch template: the IMDS packet filter and the CUDA cache directory. */
  readonly hosts: ec2.LaunchTemplate;
  readonly jobQueue: JobQueue;
  readonly container: EcsEc2ContainerDefinition;
  readonly jobDefinition: EcsJobDefinition;

  constructor(scope: Construct, id: string, props: GpuQueueProps) {
    super(scope, id);
    const spec = queueSpec('gpu').jobDefinition;
    const jobUid = props.jobUid ?? JOB_UID;
    const instanceTypes = props.instanceTypes ?? defaultInstanceTypes(DEFAULT_INSTANCE_CLASSES);
    const maxvCpus = props.maxvCpus ?? DEFAULT_MAX_VCPUS;
    const spot = props.spot ?? true;
    const onDemand = props.onDemand ?? true;
    if (!spot && !onDemand) throw new Error(`'spot' = false and 'onDemand' = false; at least one compute environment must exist`);

    this.hosts = createGpuHostLaunchTemplate(this, 'Hosts', { jobUid, cudaCacheDirectory: CUDA_CACHE.hostPath });
    const environment = (isSpot: boolean) => this.createComputeEnvironment(isSpot ? 'Spot' : 'OnDemand', isSpot, props, instanceTypes, maxvCpus);
    this.computeEnvironments = [...(spot ? [environment(true)] : []), ...(onDemand ? [environment(false)] : [])];
    this.jobQueue = new JobQueue(this, 'JobQueue', {
      computeEnvironments: this.computeEnvironments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      jobStateTimeLimitActions: stuckRunnableActions(props.capacityWait ?? DEFAULT_CAPACITY_WAIT),
    });

    this.container = new EcsEc2ContainerDefinition(this, 'Container', {
      image: props.image,
      // The image's CMD says the same; naming it here keeps the definition self-describing, and Batch
      // emulators (moto) that substitute their own default command when a definition has none run it too.
      command: ['run'],
      // The image says USER too; pinned here because the hosts' packet filter matches this uid.
      user: String(jobUid),
      gpu: spec.reservation.gpus,
      cpu: props.jobVcpus ?? DEFAULT_JOB_VCPUS,
      memory: props.jobMemory ?? DEFAULT_JOB_MEMORY,
      jobRole: props.jobRole,
      logging: LogDriver.awsLogs({ logGroup: props.logGroup, streamPrefix: spec.logStreamPrefix }),
      // g5/g6 compile libtensorflow's PTX at start; the cache on the host makes that once per instance.
      volumes: [EcsVolume.host({ name: 'cuda-cache', hostPath: CUDA_CACHE.hostPath, containerPath: CUDA_CACHE.containerPath })],
      environment: {
        ...props.environment,
        CUDA_CACHE_PATH: CUDA_CACHE.containerPath,
        CUDA_CACHE_MAXSIZE: String(CUDA_CACHE.maxBytes),
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
        // A job that cannot see a GPU exits 1 at once instead of training on the CPU for hours.
        [REQUIRE_GPU_ENV]: '1',
      },
    });
    this.jobDefinition = new EcsJobDefinition(this, 'JobDefinition', {
      container: this.container,
      timeout: props.jobTimeout ?? DEFAULT_JOB_TIMEOUT,
      retryAttempts: props.attempts ?? JOB_ATTEMPTS,
      retryStrategies: retryStrategies(Reason.SPOT_INSTANCE_RECLAIMED),
      propagateTags: true,
    });
  }

  get executionRole(): IRole {
    return this.container.executionRole;
  }

  private createComputeEnvironment(
    id: string,
    spot: boolean,
    props: GpuQueueProps,
    instanceTypes: ec2.InstanceType[],
    maxvCpus: number,
  ): ManagedEc2EcsComputeEnvironment {
    const environment = new ManagedEc2EcsComputeEnvironment(this, id, {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      spot,
      allocationStrategy: spot ? AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : AllocationStrategy.BEST_FIT_PROGRESSIVE,
      instanceTypes,
      // Otherwise Batch adds its default CPU classes, on which a GPU job never runs.
      useOptimalInstanceClasses: false,
      // A non-GPU AMI leaves GPU jobs RUNNABLE forever; AL2 environments can no longer be created.
      images: [{ imageType: EcsMachineImageType.ECS_AL2023_NVIDIA }],
      minvCpus: 0,
      maxvCpus,
      launchTemplate: this.hosts,
    });
    // The L2 names the template without a version, which Batch resolves once, when the environment is
    // created: a later change of the user data would never reach new instances. The latest version
    // number changes with every change of the template, so the environment is updated with it.
    (environment.node.defaultChild as CfnComputeEnvironment).addPropertyOverride(
      'ComputeResources.LaunchTemplate.Version',
      this.hosts.latestVersionNumber,
    );
    return environment;
  }
}

