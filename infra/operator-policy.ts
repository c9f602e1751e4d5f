/**
 * What the person who runs `mixup sweep`, `results`, `doctor` and `seed-data` needs, and no more: the
 * stack's SSM parameters, submitting to the stack's queues with their job definitions, reading Batch state, the
 * image's presence, the GPU quotas, whether the Spot service-linked role exists, the job logs, and the
 * buckets' prefixes the commands touch.
 * Emitted as a managed policy to attach to a user, group or role (output OperatorPolicyName).
 */
import { Stack } from 'aws-cdk-lib';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

import { DATA_PREFIX, RUNS_PREFIX, SWEEPS_PREFIX } from '../job/shared/layout.js';
import { SPOT_SERVICE_LINKED_ROLE } from '../job/shared/stack.js';

export interface OperatorScope {
  /** Every queue of the stack (GPU, CPU) and its job definition. */
  readonly jobQueueArns: readonly string[];
  readonly jobDefinitionArns: readonly string[];
  readonly dataBucket: IBucket;
  readonly resultsBucket: IBucket;
  readonly logGroupArn: string;
}

/** Batch's Describe and List calls and Service Quotas' reads have no resource-level permissions. */
export const OPERATOR_READ_ANYWHERE = [
  'batch:DescribeJobs', 'batch:ListJobs', 'batch:DescribeJobQueues', 'batch:DescribeComputeEnvironments',
  'batch:DescribeJobDefinitions', 'servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota',
];

export function createOperatorPolicy(scope: Construct, id: string, parts: OperatorScope): ManagedPolicy {
  const stack = Stack.of(scope);
  const arn = (service: string, resource: string) => `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`;
  return new ManagedPolicy(scope, id, {
    description: `mixup-batch ${stack.stackName}: run mixup sweep, results, doctor and seed-data`,
    statements: [
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['ssm:GetParameters'], resources: [arn('ssm', `parameter/${stack.stackName}/*`)] }),
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['batch:SubmitJob'], resources: [...parts.jobQueueArns, ...parts.jobDefinitionArns] }),
      // SubmitJob with tags (mixup:sweep-id) also needs TagResource on the new job.
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['batch:TagResource'], resources: [arn('batch', 'job/*')] }),
      new PolicyStatement({ effect: Effect.ALLOW, actions: OPERATOR_READ_ANYWHERE, resources: ['*'] }),
      // doctor: does the account have EC2's Spot service-linked role? Reading that one role only.
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:GetRole'],
        resources: [`arn:${stack.partition}:iam::${stack.account}:role${SPOT_SERVICE_LINKED_ROLE.path}${SPOT_SERVICE_LINKED_ROLE.name}`],
      }),
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ecr:DescribeImages'],
        resources: [arn('ecr', `repository/cdk-*-container-assets-${stack.account}-${stack.region}`)],
      }),
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['logs:GetLogEvents', 'logs:FilterLogEvents'], resources: [parts.logGroupArn] }),
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [parts.dataBucket.bucketArn, parts.resultsBucket.bucketArn] }),
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [parts.dataBucket.arnForObjects(`${DATA_PREFIX}/*`)],
      }),
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [parts.resultsBucket.arnForObjects(`${RUNS_PREFIX}/*`)] }),
      new PolicyStatement({
        effect: Effect.ALLOW,
        // sweep.json, report.html and plots are written under sweeps/; a refused submit deletes its sweep.json.
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [parts.resultsBucket.arnForObjects(`${SWEEPS_PREFIX}/*`)],
      }),
    ],
  });
}
