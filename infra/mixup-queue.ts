/** What the stack needs of every queue construct (infra/queues.ts builds them): to publish it, grant it, and acknowledge its findings. */
import type { IComputeEnvironment, IJobDefinition, IJobQueue } from 'aws-cdk-lib/aws-batch';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

import type { QueueName } from '../job/shared/queues.js';

export interface MixupQueue extends IConstruct {
  readonly queueName: QueueName;
  readonly computeEnvironments: readonly IComputeEnvironment[];
  readonly jobQueue: IJobQueue;
  readonly jobDefinition: IJobDefinition;
  /** The role ECS pulls the image and writes logs with. */
  readonly executionRole: IRole;
}
