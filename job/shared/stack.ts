/**
 * Names shared by the CDK stack (which writes them) and the CLI (which reads them), so that
 * `mixup sweep` and `mixup results` find the deployed resources with no flags. The queues' own names
 * live in their registry (queues.ts).
 */
import { QUEUE_REGISTRY, QUEUES, type QueueName } from './queues.js';

export { CPU_IMAGE_TARGET, DEFAULT_QUEUE, QUEUES, type QueueName } from './queues.js';

export const DEFAULT_STACK_NAME = 'MixupBatch';

/** The stack's buckets' SSM parameter names, under `/<stack-name>/`. */
export const BUCKET_PARAMETERS = {
  dataBucket: 'data-bucket',
  resultsBucket: 'results-bucket',
} as const;

/** A queue's ARN or its job definition's, e.g. `cpu.jobQueue`. */
export type QueueParameter = `${QueueName}.${'jobQueue' | 'jobDefinition'}`;
export type StackParameter = keyof typeof BUCKET_PARAMETERS | QueueParameter;

/** Which parameters name each queue and its job definition. */
export const QUEUE_PARAMETERS = Object.fromEntries(
  QUEUES.map((queue) => [queue, { jobQueue: `${queue}.jobQueue`, jobDefinition: `${queue}.jobDefinition` }]),
) as { readonly [Q in QueueName]: { readonly jobQueue: `${Q}.jobQueue`; readonly jobDefinition: `${Q}.jobDefinition` } };

/** Every parameter the stack publishes (with all its queues), by key: its name under `/<stack-name>/`. */
export const SSM_PARAMETERS: Readonly<Record<StackParameter, string>> = {
  ...BUCKET_PARAMETERS,
  ...(Object.fromEntries(
    QUEUES.flatMap((queue) => [
      [QUEUE_PARAMETERS[queue].jobQueue, QUEUE_REGISTRY[queue].ssm.jobQueue],
      [QUEUE_PARAMETERS[queue].jobDefinition, QUEUE_REGISTRY[queue].ssm.jobDefinition],
    ]),
  ) as Record<QueueParameter, string>),
};

export function ssmParameterName(stackName: string, key: StackParameter): string {
  return `/${stackName}/${SSM_PARAMETERS[key]}`;
}

/** Set to 1 in the GPU job definition: the job refuses to train without a usable GPU (job/backend/device.ts). */
export const REQUIRE_GPU_ENV = 'MIXUP_REQUIRE_GPU';

/**
 * The service-linked role EC2 needs to launch Spot instances for a Spot compute environment. A fresh
 * account may lack it; the environment then never scales. `mixup doctor` reads it (the operator policy
 * allows iam:GetRole on exactly this role) and prints the command that creates it.
 */
export const SPOT_SERVICE_LINKED_ROLE = {
  name: 'AWSServiceRoleForEC2Spot',
  path: '/aws-service-role/spot.amazonaws.com/',
  create: 'aws iam create-service-linked-role --aws-service-name spot.amazonaws.com',
} as const;
