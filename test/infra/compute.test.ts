import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { InstanceClass } from 'aws-cdk-lib/aws-ec2';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const spotId = stack.getLogicalId(stack.computeEnvironments[0]!.node.defaultChild as never);
const onDemandId = stack.getLogicalId(stack.computeEnvironments[1]!.node.defaultChild as never);

function computeResources(logicalId: string): Record<string, unknown> {
  return template.toJSON().Resources[logicalId].Properties.ComputeResources;
}

test('there are two managed GPU compute environments, spot and on-demand (and the two Fargate ones: cpu-queue.test.ts)', () => {
  template.resourceCountIs('AWS::Batch::ComputeEnvironment', 4);
  assert.equal(stack.computeEnvironments.length, 2);
  assert.equal(computeResources(spotId).Type, 'SPOT');
  assert.equal(computeResources(onDemandId).Type, 'EC2');
});

test('compute environments run the ECS_AL2023_NVIDIA image', () => {
  for (const id of [spotId, onDemandId]) {
    assert.deepEqual(computeResources(id).Ec2Configuration, [{ ImageType: 'ECS_AL2023_NVIDIA' }]);
  }
});

test('compute environments launch only g4dn by default (native kernels, no JIT), without Batch optimal CPU classes', () => {
  for (const id of [spotId, onDemandId]) {
    assert.deepEqual(computeResources(id).InstanceTypes, ['g4dn']);
  }
});

test('compute environments scale to zero', () => {
  for (const id of [spotId, onDemandId]) {
    assert.equal(computeResources(id).MinvCpus, 0);
  }
});

test('compute environments are capped at maxvCpus 64 by default', () => {
  for (const id of [spotId, onDemandId]) {
    assert.equal(computeResources(id).MaxvCpus, 64);
  }
});

test('the spot environment uses SPOT_PRICE_CAPACITY_OPTIMIZED', () => {
  assert.equal(computeResources(spotId).AllocationStrategy, 'SPOT_PRICE_CAPACITY_OPTIMIZED');
});

test('compute environments launch into the public subnets of the new VPC', () => {
  const subnets = computeResources(spotId).Subnets as { Ref: string }[];
  assert.equal(subnets.length, 2);
  for (const subnet of subnets) assert.match(subnet.Ref, /^VpcPublicSubnet/);
});

test('the queue tries spot first and on-demand second', () => {
  template.hasResourceProperties('AWS::Batch::JobQueue', {
    ComputeEnvironmentOrder: [
      { ComputeEnvironment: { 'Fn::GetAtt': [spotId, 'ComputeEnvironmentArn'] }, Order: 1 },
      { ComputeEnvironment: { 'Fn::GetAtt': [onDemandId, 'ComputeEnvironmentArn'] }, Order: 2 },
    ],
  });
});

test('the queue cancels jobs stuck RUNNABLE: 4 h without capacity, 10 min when misconfigured', () => {
  template.hasResourceProperties('AWS::Batch::JobQueue', {
    JobStateTimeLimitActions: [
      { Action: 'CANCEL', State: 'RUNNABLE', Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', MaxTimeSeconds: 14_400 },
      { Action: 'CANCEL', State: 'RUNNABLE', Reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE', MaxTimeSeconds: 600 },
      { Action: 'CANCEL', State: 'RUNNABLE', Reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', MaxTimeSeconds: 600 },
    ],
  });
});

test('with spot off, the queue has only the on-demand environment', () => {
  // WHEN
  const { template: onDemandOnly } = synthesize({ spot: false });
  // THEN
  onDemandOnly.resourcePropertiesCountIs('AWS::Batch::ComputeEnvironment', { ComputeResources: { Type: 'SPOT' } }, 0);
  onDemandOnly.hasResourceProperties('AWS::Batch::JobQueue', {
    ComputeEnvironmentOrder: [{ ComputeEnvironment: Match.anyValue(), Order: 1 }],
  });
});

test('with on-demand off, only the spot environment exists', () => {
  const { template: spotOnly } = synthesize({ onDemand: false, cpu: false });
  spotOnly.resourceCountIs('AWS::Batch::ComputeEnvironment', 1);
  spotOnly.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: { Type: 'SPOT' } });
});

test('instance classes and maxvCpus follow the props', () => {
  const { template: custom } = synthesize({ instanceClasses: [InstanceClass.G6E], maxvCpus: 16, cpu: false });
  custom.allResourcesProperties('AWS::Batch::ComputeEnvironment', {
    ComputeResources: Match.objectLike({ InstanceTypes: ['g6e'], MaxvCpus: 16 }),
  });
});

test('turning both environments off is refused with a reason', () => {
  assert.throws(() => synthesize({ spot: false, onDemand: false }), /'spot' = false and 'onDemand' = false; at least one/);
});

test('maxvCpus below the job size is refused with a reason', () => {
  assert.throws(() => synthesize({ maxvCpus: 2 }), /'maxvCpus' = 2 < 'jobVcpus' = 4; a job could never be placed/);
});
