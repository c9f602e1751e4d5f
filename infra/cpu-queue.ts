/**
 * The CPU queue beside the GPU one: Fargate Spot first, Fargate on-demand second, a job queue, and a
 * Fargate job definition running the CPU image (no CUDA). For accounts without G-instance quota:
 * Fargate needs no instances, starts in about a minute and bills by the second for what a job reserves.
 */
import { Size, type Duration } from 'aws-cdk-lib';
import {
  EcsFargateContainerDefinition,
  EcsJobDefinition,
  FargateComputeEnvironment,
  JobQueue,
  Reason,
} from 'aws-cdk-lib/aws-batch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LogDriver, type ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { jobReservation, queueSpec } from '../job/shared/queues.js';
import { DEFAULT_CAPACITY_WAIT, DEFAULT_CPU_MAX_VCPUS, DEFAULT_JOB_TIMEOUT, JOB_ATTEMPTS } from './props.js';
import { retryStrategies, stuckRunnableActions } from './queue-policy.js';
import type { MixupQueue } from './mixup-queue.js';

/**
 * The status reason Batch gives a job attempt whose Fargate Spot task was reclaimed (the ECS task's
 * stoppedReason, "Your Spot Task was interrupted."). The job got SIGTERM two minutes before and wrote a
 * checkpoint, so the retry resumes from it. Batch matches at most 512 characters, `*` only at the end.
 */
export const FARGATE_SPOT_INTERRUPTED = 'Your Spot Task was interrupted*';

export interface CpuQueueProps {
  readonly vpc: ec2.IVpc;
  /**
   * Where the tasks run; they need a route to ECR, S3 and CloudWatch Logs.
   * @default - the VPC's default subnet selection
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The CPU image (the Dockerfile's `cpu` stage). */
  readonly image: ContainerImage;
  /** The role the container runs as. */
  readonly jobRole: IRole;
  readonly logGroup: ILogGroup;
  /**
   * Variables every job gets.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Wall-clock limit of one attempt.
   * @default Duration.minutes(120)
   */
  readonly jobTimeout?: Duration;
  /**
   * Attempts per job, shared by Spot interruptions and start failures.
   * @default 5
   */
  readonly attempts?: number;
  /**
   * How long a job may wait RUNNABLE for lack of capacity before Batch cancels it.
   * @default Duration.minutes(240)
   */
  readonly capacityWait?: Duration;
  /**
   * Cap of each Fargate compute environment, in vCPUs.
   * @default 32 (32 one-arm jobs at once)
   */
  readonly maxvCpus?: number;
  /**
   * How many arms one job trains; what it reserves follows (job/shared/queues.ts). A sweep's jobs train one.
   * @default 1
   */
  readonly armsPerJob?: 1 | 2;
}

export class CpuQueue extends Construct implements MixupQueue {
  readonly queueName = 'cpu' as const;
  /** Fargate Spot (order 1), then Fargate on-demand (order 2). */
  readonly computeEnvironments: FargateComputeEnvironment[];
  readonly jobQueue: JobQueue;
  readonly container: EcsFargateContainerDefinition;
  readonly jobDefinition: EcsJobDefinition;

  constructor(scope: Construct, id: string, props: CpuQueueProps) {
    super(scope, id);
    const reservation = jobReservation('cpu', props.armsPerJob ?? 1);
    // On-demand is the fallback as on the GPU queue: Batch moves jobs there only when Spot is at its
    // maxvCpus, so it never runs when Spot alone has room, and costs nothing while idle.
    this.computeEnvironments = [true, false].map((spot) => new FargateComputeEnvironment(this, spot ? 'FargateSpot' : 'FargateOnDemand', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      spot,
      maxvCpus: props.maxvCpus ?? DEFAULT_CPU_MAX_VCPUS,
    }));
    this.jobQueue = new JobQueue(this, 'JobQueue', {
      computeEnvironments: this.computeEnvironments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      jobStateTimeLimitActions: stuckRunnableActions(props.capacityWait ?? DEFAULT_CAPACITY_WAIT),
    });
    this.container = new EcsFargateContainerDefinition(this, 'Container', {
      image: props.image,
      // As on the GPU job: Batch emulators (moto) that substitute their own default command run it too.
      command: ['run'],
      cpu: reservation.vcpus,
      memory: Size.mebibytes(reservation.memoryMiB),
      jobRole: props.jobRole,
      // The VPC has no NAT gateway: without a public address a task cannot reach ECR to pull the image.
      assignPublicIp: true,
      logging: LogDriver.awsLogs({ logGroup: props.logGroup, streamPrefix: queueSpec('cpu').jobDefinition.logStreamPrefix }),
      environment: props.environment,
    });
    this.jobDefinition = new EcsJobDefinition(this, 'JobDefinition', {
      container: this.container,
      timeout: props.jobTimeout ?? DEFAULT_JOB_TIMEOUT,
      retryAttempts: props.attempts ?? JOB_ATTEMPTS,
      retryStrategies: retryStrategies(Reason.custom({ onStatusReason: FARGATE_SPOT_INTERRUPTED })),
      propagateTags: true,
    });
  }

  get executionRole(): IRole {
    return this.container.executionRole;
  }
}
