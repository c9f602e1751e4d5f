import { Validations, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { ManagedEc2EcsComputeEnvironment } from 'aws-cdk-lib/aws-batch';
import type { IRole, ManagedPolicy, Role } from 'aws-cdk-lib/aws-iam';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { DATA_PREFIX, RUNS_PREFIX, SWEEPS_PREFIX } from '../job/shared/layout.js';

/** The parts of the stack that carry acknowledged cdk-nag (AwsSolutions) findings. */
export interface AcknowledgedParts {
  readonly dataBucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly jobRole: Role;
  readonly executionRoles: readonly IRole[];
  readonly computeEnvironments: readonly ManagedEc2EcsComputeEnvironment[];
  readonly operatorPolicy: ManagedPolicy;
}

/**
 * Every finding cdk-nag's AwsSolutions pack reports on this stack that is accepted by design, each with
 * its reason. cdk-nag v3 matches one finding id at a time (`Rule[Finding]`), so object wildcards are
 * named one by one: a new wildcard still fails the check.
 */
export function acknowledgeFindings(stack: Stack, parts: AcknowledgedParts): void {
  for (const bucket of [parts.dataBucket, parts.resultsBucket]) {
    acknowledge(bucket, 'AwsSolutions-S1',
      'Only this stack\'s job role and the account owner use the bucket; CloudTrail S3 data events are the audit ' +
      'trail when one is wanted. A server-access-log bucket would be one more retained bucket to pay for.');
  }

  const dataObjects = `Resource::<${arnToken(stack, parts.dataBucket)}>/*`;
  acknowledge(parts.jobRole, `AwsSolutions-IAM5[${dataObjects}]`,
    'The job reads the Fashion-MNIST objects of the data bucket; object ARNs need a key wildcard, and the ' +
    'actions are only s3:GetObject.');
  for (const prefix of [RUNS_PREFIX, SWEEPS_PREFIX]) {
    acknowledge(parts.jobRole, `AwsSolutions-IAM5[Resource::<${arnToken(stack, parts.resultsBucket)}>/${prefix}/*]`,
      `The job writes one run's artifacts and checkpoints under ${prefix}/<id>/ of the results bucket; the run id ` +
      'is only known at run time (it comes from AWS_BATCH_JOB_ID), so the key needs a wildcard below the prefix.');
  }

  for (const executionRole of parts.executionRoles) {
    acknowledge(executionRole, 'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions; image pulls themselves are scoped to the ' +
      'CDK asset repository.');
  }

  const operator = (finding: string, reason: string) => acknowledge(parts.operatorPolicy, `AwsSolutions-IAM5[${finding}]`, reason);
  operator('Resource::*', 'Batch Describe/List calls and Service Quotas reads have no resource-level permissions; they are read-only.');
  operator(`Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/${stack.stackName}/*`,
    'The stack publishes its parameters under /<stack>/; the CLI reads only those.');
  operator('Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*',
    'SubmitJob with tags needs TagResource on the job it creates, whose id is not known in advance.');
  operator('Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/cdk-*-container-assets-<AWS::AccountId>-<AWS::Region>',
    "doctor checks the job's image in the CDK bootstrap asset repository, whose qualifier is the bootstrap's; DescribeImages only.");
  operator(`Resource::<${arnToken(stack, parts.dataBucket)}>/${DATA_PREFIX}/*`, 'seed-data writes and doctor reads the dataset files under fashion-mnist/.');
  for (const prefix of [RUNS_PREFIX, SWEEPS_PREFIX]) {
    operator(`Resource::<${arnToken(stack, parts.resultsBucket)}>/${prefix}/*`,
      `results reads runs and sweep writes sweep.json, reports and plots under ${prefix}/<id>/; ids are chosen at run time.`);
  }

  for (const environment of parts.computeEnvironments) {
    acknowledge(environment,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
      'The ECS container-instance policy AWS maintains for Batch/ECS hosts (register with the cluster, pull ' +
      'images, ship logs); a hand-written copy would drift from what the ECS agent needs.');
  }
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The `<LogicalId.Arn>` form cdk-nag uses to name a bucket's ARN inside a finding id. */
function arnToken(stack: Stack, bucket: Bucket): string {
  return `${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn`;
}
