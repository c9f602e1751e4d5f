import assert from 'node:assert/strict';
import { test } from 'node:test';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const dataId = stack.getLogicalId(stack.dataBucket.node.defaultChild as never);
const resultsId = stack.getLogicalId(stack.resultsBucket.node.defaultChild as never);
const jobRoleId = stack.getLogicalId(stack.jobRole.node.defaultChild as never);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

function statementsOf(roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

function resources(s: Statement): unknown[] {
  return Array.isArray(s.Resource) ? s.Resource : [s.Resource];
}

const bucketArn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const objects = (id: string, pattern: string) => ({ 'Fn::Join': ['', [bucketArn(id), pattern]] });

test('the job role is assumed by ECS tasks only', () => {
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } }],
    },
  });
  const role = template.toJSON().Resources[jobRoleId];
  assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policies on the job role');
});

test('the job role grants exactly: list both buckets, read data, read/write runs/ and sweeps/ of results', () => {
  assert.deepEqual(statementsOf(jobRoleId), [
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: [bucketArn(dataId), bucketArn(resultsId)] },
    { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(dataId, '/*') },
    {
      Effect: 'Allow',
      Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
      Resource: [objects(resultsId, '/runs/*'), objects(resultsId, '/sweeps/*')],
    },
  ]);
});

test('the job role cannot write to the data bucket', () => {
  for (const s of statementsOf(jobRoleId)) {
    if (actions(s).some((a) => /^s3:(Put|Delete|Abort)/.test(a))) {
      assert.ok(!JSON.stringify(s.Resource).includes(dataId), JSON.stringify(s));
    }
  }
});

test('no policy in the stack grants S3 on any resource but the two buckets', () => {
  const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  const s3 = all.filter((s: Statement) => actions(s).some((a) => a.startsWith('s3:')));
  assert.ok(s3.length > 0);
  for (const s of s3) {
    for (const resource of resources(s)) {
      const text = JSON.stringify(resource);
      assert.ok(text.includes(dataId) || text.includes(resultsId), `S3 grant outside the two buckets: ${text}`);
    }
  }
});

test('no statement allows a wildcard action', () => {
  const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  for (const s of all) for (const a of actions(s)) assert.ok(!a.endsWith('*'), `wildcard action ${a}`);
});

test('the execution role only pulls the image and writes the job logs', () => {
  const roleArn = Object.values(template.findResources('AWS::Batch::JobDefinition'))[0]!.Properties.ContainerProperties.ExecutionRoleArn;
  const executionRoleId = roleArn['Fn::GetAtt'][0];
  const granted = statementsOf(executionRoleId).flatMap(actions).sort();
  assert.deepEqual(granted, [
    'ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer',
    'logs:CreateLogStream', 'logs:PutLogEvents',
  ]);
  const logs = statementsOf(executionRoleId).find((s) => actions(s).includes('logs:PutLogEvents'))!;
  assert.deepEqual(logs.Resource, bucketArn(stack.getLogicalId(stack.logGroup.node.defaultChild as never)));
});
