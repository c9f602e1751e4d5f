/**
 * One construct per entry of the queue registry (job/shared/queues.ts). The stack builds every queue
 * the deploy switches leave on through `QUEUE_BUILDERS`, whose type asks for a builder for each
 * registered queue: a new queue is its registry entry, its construct and one line here.
 */
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

import { queueSpec, type QueueName } from '../job/shared/queues.js';
import { CpuQueue } from './cpu-queue.js';
import { GpuQueue } from './gpu-queue.js';
import type { MixupQueue } from './mixup-queue.js';
import type { ResolvedProps } from './props.js';

export type { MixupQueue };

/** What the stack shares with every queue: network, image, job role, logs, the job's variables and the stack's options. */
export interface QueueParts {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The job image built from a Dockerfile stage (undefined: the last), with build arguments. */
  readonly image: (target: string | undefined, buildArgs?: Record<string, string>) => ContainerImage;
  /** The user's build arguments of the GPU image (its CUDA base and libtensorflow mirror). */
  readonly imageBuildArgs?: Record<string, string>;
  readonly jobRole: IRole;
  readonly logGroup: ILogGroup;
  readonly environment: Record<string, string>;
  readonly options: ResolvedProps;
}

export type QueueBuilder = (scope: Construct, parts: QueueParts) => MixupQueue;

export const QUEUE_BUILDERS: { readonly [Q in QueueName]: QueueBuilder } = {
  gpu: (scope, { options, image, imageBuildArgs, ...parts }) => new GpuQueue(scope, 'Gpu', {
    ...parts,
    image: image(queueSpec('gpu').jobDefinition.imageTarget, imageBuildArgs),
    instanceTypes: options.instanceTypes,
    maxvCpus: options.maxvCpus,
    spot: options.spot,
    onDemand: options.onDemand,
    jobVcpus: options.jobVcpus,
    jobMemory: options.jobMemory,
    jobTimeout: options.jobTimeout,
    capacityWait: options.capacityWait,
  }),
  cpu: (scope, { options, image, imageBuildArgs: _gpuOnly, ...parts }) => new CpuQueue(scope, 'Cpu', {
    ...parts,
    image: image(queueSpec('cpu').jobDefinition.imageTarget),
    maxvCpus: options.cpuMaxvCpus,
    jobTimeout: options.jobTimeout,
    capacityWait: options.capacityWait,
  }),
};
