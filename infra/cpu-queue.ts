/**
 * The CPU path beside the GPU one: Fargate Spot first, Fargate on-demand second, a job queue, and a
 * Fargate job definition running the CPU image (no CUDA; trains on the wasm backend). For accounts
 * without G-instance quota: Fargate needs no instances, starts in about a minute and bills by the second.
 */
import { Size, type Duration } from 'aws-cdk-lib';
import {
  Action,
  EcsFargateContainerDefinition,
  EcsJobDefinition,
  FargateComputeEnvironment,
  JobQueue,
  Reason,
  RetryStrategy,
} from 'aws-cdk-lib/aws-batch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LogDriver, type ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CPU_JOB_RESOURCES } from '../job/shared/stack.js';
import { stuckRunnableActions } from './queue-policy.js';

/**
 * The status reason Batch gives a job attempt whose Fargate Spot task was reclaimed (the ECS task's
 * stoppedReason, "Your Spot Task was interrupted."). The job got SIGTERM two minutes before and wrote a
 * checkpoint, so the retry resumes from it. Batch matches at most 512 characters, `*` only at the end.
 */
export const FARGATE_SPOT_INTERRUPTED = 'Your Spot Task was interrupted*';

export interface CpuQueueProps {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The CPU image (the Dockerfile's `cpu` stage). */
  readonly image: ContainerImage;
  /** The GPU path's job role: the same bucket permissions. */
  readonly jobRole: IRole;
  readonly logGroup: ILogGroup;
  readonly environment: Record<string, string>;
  readonly jobTimeout: Duration;
  readonly attempts: number;
  readonly capacityWait: Duration;
  /** Cap of each Fargate compute environment, in vCPUs. */
  readonly maxvCpus: number;
}

export class CpuQueue extends Construct {
  /** Fargate Spot (order 1), then Fargate on-demand (order 2). */
  readonly computeEnvironments: FargateComputeEnvironment[];
  readonly jobQueue: JobQueue;
  readonly container: EcsFargateContainerDefinition;
  readonly jobDefinition: EcsJobDefinition;

  constructor(scope: Construct, id: string, props: CpuQueueProps) {
    super(scope, id);
    // On-demand is the fallback as on the GPU queue: Batch moves jobs there only when Spot is at its
    // maxvCpus, so it never runs when Spot alone has room, and costs nothing while idle.
    this.computeEnvironments = [true, false].map((spot) => new FargateComputeEnvironment(this, spot ? 'FargateSpot' : 'FargateOnDemand', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      spot,
      maxvCpus: props.maxvCpus,
    }));
    this.jobQueue = new JobQueue(this, 'JobQueue', {
      computeEnvironments: this.computeEnvironments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      jobStateTimeLimitActions: stuckRunnableActions(props.capacityWait),
    });
    this.container = new EcsFargateContainerDefinition(this, 'Container', {
      image: props.image,
      // As on the GPU job: Batch emulators (moto) that substitute their own default command run it too.
      command: ['run'],
      cpu: CPU_JOB_RESOURCES.vcpus,
      memory: Size.mebibytes(CPU_JOB_RESOURCES.memoryMiB),
      jobRole: props.jobRole,
      // The VPC has no NAT gateway: without a public address a task cannot reach ECR to pull the image.
      assignPublicIp: true,
      logging: LogDriver.awsLogs({ logGroup: props.logGroup, streamPrefix: 'mixup-cpu' }),
      environment: props.environment,
    });
    this.jobDefinition = new EcsJobDefinition(this, 'JobDefinition', {
      container: this.container,
      timeout: props.jobTimeout,
      retryAttempts: props.attempts,
      retryStrategies: [
        RetryStrategy.of(Action.RETRY, Reason.custom({ onStatusReason: FARGATE_SPOT_INTERRUPTED })),
        RetryStrategy.of(Action.EXIT, Reason.custom({ onReason: '*' })),
      ],
      propagateTags: true,
    });
  }
}
