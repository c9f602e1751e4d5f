import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Duration, Size } from 'aws-cdk-lib';
import { InstanceClass, InstanceType } from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { JOB_UID } from '../../infra/props.js';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const jobDefinition = Object.values(template.findResources('AWS::Batch::JobDefinition'))[0]!.Properties;
const container = jobDefinition.ContainerProperties;
const dataBucketId = stack.getLogicalId(stack.dataBucket.node.defaultChild as never);
const resultsBucketId = stack.getLogicalId(stack.resultsBucket.node.defaultChild as never);

function requirement(type: string): string | undefined {
  return container.ResourceRequirements.find((r: { Type: string }) => r.Type === type)?.Value;
}

function environment(): Record<string, unknown> {
  return Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
}

test('a job asks for exactly one GPU', () => {
  assert.equal(requirement('GPU'), '1');
});

test('a job reserves a whole *.xlarge: 4 vCPUs and 14336 MiB', () => {
  assert.equal(requirement('VCPU'), '4');
  assert.equal(requirement('MEMORY'), '14336');
});

test("the definition names the image's command, `run`, and carries no endpoint or credentials", () => {
  assert.deepEqual(container.Command, ['run']);
  const names = Object.keys(environment());
  assert.deepEqual(names.filter((name) => /ENDPOINT|ACCESS_KEY|SECRET|SESSION_TOKEN/.test(name)), []);
});

test('jobs run on EC2, not Fargate (Fargate has no GPUs)', () => {
  assert.deepEqual(jobDefinition.PlatformCapabilities, ['EC2']);
});

test('the job reads data from the data bucket and writes runs to the results bucket', () => {
  const env = environment();
  assert.deepEqual(env.MIXUP_DATA, { 'Fn::Join': ['', ['s3://', { Ref: dataBucketId }, '/fashion-mnist']] });
  assert.deepEqual(env.MIXUP_OUT, { 'Fn::Join': ['', ['s3://', { Ref: resultsBucketId }, '/runs']] });
});

test('TensorFlow grows GPU memory instead of taking it all', () => {
  assert.equal(environment().TF_FORCE_GPU_ALLOW_GROWTH, 'true');
});

test('the GPU job refuses to run without a usable GPU (MIXUP_REQUIRE_GPU=1)', () => {
  assert.equal(environment().MIXUP_REQUIRE_GPU, '1');
});

test('the job is told its region, which the SDK would not find on its own', () => {
  assert.deepEqual(environment().AWS_REGION, { Ref: 'AWS::Region' });
});

test('a spot reclaim (Host EC2*) and a failed start are retried within the 5 attempts; any other failure exits', () => {
  assert.deepEqual(jobDefinition.RetryStrategy, {
    Attempts: 5,
    EvaluateOnExit: [
      { Action: 'RETRY', OnStatusReason: 'Host EC2*' },
      // The image could not be pulled, the task's resources could not be set up, the task did not start.
      { Action: 'RETRY', OnReason: 'CannotPullContainerError:*' },
      { Action: 'RETRY', OnReason: 'ResourceInitializationError:*' },
      { Action: 'RETRY', OnStatusReason: 'Task failed to start*' },
      // Batch evaluates at most five conditions; the last one ends every other failure at once.
      { Action: 'EXIT', OnReason: '*' },
    ],
  });
});

test("the job runs as the image's job user, the uid the hosts keep off instance metadata", () => {
  assert.equal(container.User, String(JOB_UID));
});

test('an attempt times out after 120 minutes by default', () => {
  assert.deepEqual(jobDefinition.Timeout, { AttemptDurationSeconds: 7200 });
});

test('the image is a Docker asset in the CDK asset repository', () => {
  assert.match(JSON.stringify(container.Image), /container-assets/);
});

test('logs go to the stack log group through awslogs', () => {
  const logGroupId = stack.getLogicalId(stack.logGroup.node.defaultChild as never);
  assert.equal(container.LogConfiguration.LogDriver, 'awslogs');
  assert.deepEqual(container.LogConfiguration.Options['awslogs-group'], { Ref: logGroupId });
});

test('log groups keep 30 days of logs by default', () => {
  const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
  assert.ok(groups.length >= 2, 'a job log group and a flow log group');
  for (const group of groups) assert.equal(group.Properties.RetentionInDays, 30);
});

test('tags propagate from the job to the ECS task, for cost allocation', () => {
  assert.equal(jobDefinition.PropagateTags, true);
});

test('sizing, timeout and log retention follow the props', () => {
  // WHEN
  const { template: custom } = synthesize({
    jobVcpus: 8, jobMemory: Size.mebibytes(30_000), jobTimeout: Duration.minutes(30), logRetention: RetentionDays.ONE_WEEK,
    instanceTypes: [new InstanceType('g4dn.4xlarge')],
  });
  // THEN
  const props = Object.values(custom.findResources('AWS::Batch::JobDefinition'))[0]!.Properties;
  assert.deepEqual(props.Timeout, { AttemptDurationSeconds: 1800 });
  assert.deepEqual(
    props.ContainerProperties.ResourceRequirements.filter((r: { Type: string }) => r.Type !== 'GPU'),
    [{ Type: 'MEMORY', Value: '30000' }, { Type: 'VCPU', Value: '8' }],
  );
  custom.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
});

test('a job larger than the default xlarge is refused, naming the -c instanceTypes that holds it', () => {
  assert.throws(() => synthesize({ jobVcpus: 8 }), /'jobVcpus' = 8 \/ 'jobMemory' = 14336 MiB do not fit g4dn\.xlarge \(4 vCPUs, 14336 MiB for jobs\); name a larger size with -c instanceTypes=g4dn\.2xlarge/);
  assert.throws(() => synthesize({ jobMemory: Size.mebibytes(16_000) }), /do not fit g4dn\.xlarge/);
  // g6e.xlarge has 32 GiB.
  assert.doesNotThrow(() => synthesize({ jobMemory: Size.mebibytes(16_000), instanceClasses: [InstanceClass.G6E], cpu: false }));
});

test('a timeout under Batch minimum of 60 s is refused with a reason', () => {
  assert.throws(() => synthesize({ jobTimeout: Duration.seconds(30) }), /'jobTimeout' = 30 s; Batch needs at least 60 s/);
});
