import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_STACK_NAME, SSM_PARAMETERS, ssmParameterName } from '../../job/shared/stack.js';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const expected = {
  'gpu.jobQueue': { 'Fn::GetAtt': [id(stack.gpuQueue!.jobQueue), 'JobQueueArn'] },
  'gpu.jobDefinition': { Ref: id(stack.gpuQueue!.jobDefinition) },
  'cpu.jobQueue': { 'Fn::GetAtt': [id(stack.cpuQueue!.jobQueue), 'JobQueueArn'] },
  'cpu.jobDefinition': { Ref: id(stack.cpuQueue!.jobDefinition) },
  dataBucket: { Ref: id(stack.dataBucket) },
  resultsBucket: { Ref: id(stack.resultsBucket) },
};

test('the stack is named MixupBatch, which the CLI assumes', () => {
  assert.equal(stack.stackName, DEFAULT_STACK_NAME);
});

test('one SSM parameter per SSM_PARAMETERS key, named /<stack>/<key>, holds the resource', () => {
  const parameters = Object.values(template.findResources('AWS::SSM::Parameter')).map((p) => p.Properties);
  assert.equal(parameters.length, Object.keys(SSM_PARAMETERS).length);
  for (const key of Object.keys(SSM_PARAMETERS) as (keyof typeof SSM_PARAMETERS)[]) {
    const parameter = parameters.find((p) => p.Name === ssmParameterName(DEFAULT_STACK_NAME, key));
    assert.ok(parameter, `parameter for ${key}`);
    assert.equal(parameter.Type, 'String');
    assert.deepEqual(parameter.Value, expected[key]);
  }
});

test('outputs name both queues, both job definitions, both buckets and the data URI', () => {
  template.hasOutput('JobQueueArn', { Value: expected['gpu.jobQueue'] });
  template.hasOutput('JobDefinitionArn', { Value: expected['gpu.jobDefinition'] });
  template.hasOutput('CpuJobQueueArn', { Value: expected['cpu.jobQueue'] });
  template.hasOutput('CpuJobDefinitionArn', { Value: expected['cpu.jobDefinition'] });
  template.hasOutput('DataBucketName', { Value: expected.dataBucket });
  template.hasOutput('ResultsBucketName', { Value: expected.resultsBucket });
  template.hasOutput('DataUri', { Value: { 'Fn::Join': ['', ['s3://', expected.dataBucket, '/fashion-mnist']] } });
});

test('another stack name moves the parameters under its own prefix', () => {
  // WHEN
  const { template: dev } = synthesize({ stackName: 'MixupBatchDev' });
  // THEN
  const names = Object.values(dev.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name).sort();
  assert.deepEqual(names, [
    '/MixupBatchDev/cpu-job-definition-arn', '/MixupBatchDev/cpu-job-queue-arn', '/MixupBatchDev/data-bucket',
    '/MixupBatchDev/job-definition-arn', '/MixupBatchDev/job-queue-arn', '/MixupBatchDev/results-bucket',
  ]);
});

test('a CPU-only stack publishes the CPU queue and no GPU parameters or outputs, and the reverse', () => {
  const names = (t: typeof template) => Object.values(t.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name).sort();
  const cpuOnly = synthesize({ gpu: false }).template;
  assert.deepEqual(names(cpuOnly), ['/MixupBatch/cpu-job-definition-arn', '/MixupBatch/cpu-job-queue-arn', '/MixupBatch/data-bucket', '/MixupBatch/results-bucket']);
  assert.deepEqual(Object.keys(cpuOnly.findOutputs('JobQueueArn')), []);
  const gpuOnly = synthesize({ cpu: false }).template;
  assert.deepEqual(names(gpuOnly), ['/MixupBatch/data-bucket', '/MixupBatch/job-definition-arn', '/MixupBatch/job-queue-arn', '/MixupBatch/results-bucket']);
  assert.deepEqual(Object.keys(gpuOnly.findOutputs('CpuJobQueueArn')), []);
});
