import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_STACK_NAME, SSM_PARAMETERS, ssmParameterName } from '../../job/shared/stack.js';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const expected = {
  jobQueueArn: { 'Fn::GetAtt': [id(stack.jobQueue), 'JobQueueArn'] },
  jobDefinitionArn: { Ref: id(stack.jobDefinition) },
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

test('outputs name the queue, the job definition, both buckets and the data URI', () => {
  template.hasOutput('JobQueueArn', { Value: expected.jobQueueArn });
  template.hasOutput('JobDefinitionArn', { Value: expected.jobDefinitionArn });
  template.hasOutput('DataBucketName', { Value: expected.dataBucket });
  template.hasOutput('ResultsBucketName', { Value: expected.resultsBucket });
  template.hasOutput('DataUri', { Value: { 'Fn::Join': ['', ['s3://', expected.dataBucket, '/fashion-mnist']] } });
});

test('another stack name moves the parameters under its own prefix', () => {
  // WHEN
  const { template: dev } = synthesize({ stackName: 'MixupBatchDev' });
  // THEN
  const names = Object.values(dev.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name).sort();
  assert.deepEqual(names, ['/MixupBatchDev/data-bucket', '/MixupBatchDev/job-definition-arn', '/MixupBatchDev/job-queue-arn', '/MixupBatchDev/results-bucket']);
});
