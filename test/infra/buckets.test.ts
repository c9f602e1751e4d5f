import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const dataId = stack.getLogicalId(stack.dataBucket.node.defaultChild as never);
const resultsId = stack.getLogicalId(stack.resultsBucket.node.defaultChild as never);
const resources = template.toJSON().Resources;

function bucket(id: string) {
  return resources[id];
}

function policyOf(bucketId: string) {
  return Object.values(template.findResources('AWS::S3::BucketPolicy'))
    .find((p) => p.Properties.Bucket.Ref === bucketId)!.Properties.PolicyDocument;
}

test('there are exactly two buckets, data and results', () => {
  template.resourceCountIs('AWS::S3::Bucket', 2);
});

test('both buckets are encrypted at rest', () => {
  for (const id of [dataId, resultsId]) {
    assert.deepEqual(bucket(id).Properties.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  }
});

test('both buckets block all public access', () => {
  for (const id of [dataId, resultsId]) {
    assert.deepEqual(bucket(id).Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
  }
});

test('both bucket policies deny requests without TLS', () => {
  for (const id of [dataId, resultsId]) {
    const statements = policyOf(id).Statement;
    assert.ok(statements.some((s: Record<string, unknown>) =>
      s.Effect === 'Deny' && s.Action === 's3:*' &&
      JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } })));
  }
});

test('both bucket policies deny TLS older than 1.2', () => {
  for (const id of [dataId, resultsId]) {
    const statements = policyOf(id).Statement;
    assert.ok(statements.some((s: Record<string, unknown>) =>
      s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ NumericLessThan: { 's3:TlsVersion': 1.2 } })));
  }
});

test('the results bucket is versioned', () => {
  assert.deepEqual(bucket(resultsId).Properties.VersioningConfiguration, { Status: 'Enabled' });
});

test('checkpoints (tag kind=checkpoint) expire after 7 days, their old versions after 1 day', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    VersioningConfiguration: { Status: 'Enabled' },
    LifecycleConfiguration: {
      Rules: Match.arrayWith([Match.objectLike({
        Id: 'ExpireCheckpoints',
        Status: 'Enabled',
        TagFilters: [{ Key: 'kind', Value: 'checkpoint' }],
        ExpirationInDays: 7,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      })]),
    },
  });
});

test('the checkpoint rule has no prefix, so checkpoints of runs and of sweeps both match', () => {
  const rule = bucket(resultsId).Properties.LifecycleConfiguration.Rules.find((r: { Id: string }) => r.Id === 'ExpireCheckpoints');
  assert.equal(rule.Prefix, undefined);
});

test('old versions of results expire after 30 days and lone delete markers are removed', () => {
  const rule = bucket(resultsId).Properties.LifecycleConfiguration.Rules.find((r: { Id: string }) => r.Id === 'ExpireOldVersions');
  assert.deepEqual(rule.NoncurrentVersionExpiration, { NoncurrentDays: 30 });
  assert.equal(rule.ExpiredObjectDeleteMarker, true);
  assert.equal(rule.ExpirationInDays, undefined, 'current results never expire');
});

test('incomplete multipart uploads are aborted after 1 day in both buckets', () => {
  for (const id of [dataId, resultsId]) {
    const rules = bucket(id).Properties.LifecycleConfiguration.Rules;
    assert.ok(rules.some((r: { AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number } }) =>
      r.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 1));
  }
});

test('both buckets are retained when the stack is deleted, by default', () => {
  for (const id of [dataId, resultsId]) {
    assert.equal(bucket(id).DeletionPolicy, 'Retain');
    assert.equal(bucket(id).UpdateReplacePolicy, 'Retain');
  }
  template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
});

test('with autoDeleteBuckets, both buckets are emptied and deleted with the stack', () => {
  // WHEN
  const { template: disposable } = synthesize({ autoDeleteBuckets: true });
  // THEN
  disposable.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  disposable.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
});

test('checkpoint expiry follows the props', () => {
  const { template: custom } = synthesize({ checkpointExpiration: Duration.days(2) });
  custom.hasResourceProperties('AWS::S3::Bucket', {
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireCheckpoints', ExpirationInDays: 2 })]) },
  });
});
