import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { InstanceClass, InstanceType } from 'aws-cdk-lib/aws-ec2';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { template, stack } = synthesize();
const spotId = stack.getLogicalId(stack.gpuQueue!.computeEnvironments[0]!.node.defaultChild as never);
const onDemandId = stack.getLogicalId(stack.gpuQueue!.computeEnvironments[1]!.node.defaultChild as never);

function computeResources(logicalId: string): Record<string, unknown> {
  return template.toJSON().Resources[logicalId].Properties.ComputeResources;
}

test('there are two managed GPU compute environments, spot and on-demand (and the two Fargate ones: cpu-queue.test.ts)', () => {
  template.resourceCountIs('AWS::Batch::ComputeEnvironment', 4);
  assert.equal(stack.gpuQueue!.computeEnvironments.length, 2);
  assert.equal(computeResources(spotId).Type, 'SPOT');
  assert.equal(computeResources(onDemandId).Type, 'EC2');
});

test('compute environments run the ECS_AL2023_NVIDIA image', () => {
  for (const id of [spotId, onDemandId]) {
    assert.deepEqual(computeResources(id).Ec2Configuration, [{ ImageType: 'ECS_AL2023_NVIDIA' }]);
  }
});

test('compute environments launch only g4dn.xlarge by default (one T4, native kernels, no JIT), not any size of the family', () => {
  for (const id of [spotId, onDemandId]) {
    assert.deepEqual(computeResources(id).InstanceTypes, ['g4dn.xlarge']);
  }
});

test('an opted-in class is pinned to the same one-GPU size; -c instanceTypes names other sizes instead', () => {
  const { template: opted } = synthesize({ instanceClasses: [InstanceClass.G4DN, InstanceClass.G6], cpu: false });
  opted.allResourcesProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ InstanceTypes: ['g4dn.xlarge', 'g6.xlarge'] }) });
  const { template: sized } = synthesize({ instanceTypes: [new InstanceType('g4dn.2xlarge'), new InstanceType('g5.xlarge')], cpu: false });
  sized.allResourcesProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ InstanceTypes: ['g4dn.2xlarge', 'g5.xlarge'] }) });
  assert.throws(() => synthesize({ instanceClasses: [InstanceClass.G5], instanceTypes: [new InstanceType('g5.xlarge')] }),
    /'instanceClasses' and 'instanceTypes' are both set; give one/);
  assert.throws(() => synthesize({ instanceTypes: [new InstanceType('p3.2xlarge')] }), /'instanceTypes': p3 \(V100\) is not supported by the ECS_AL2023_NVIDIA AMI/);
});

test('p3 and g3 are refused at synth in one line naming the supported classes (ECS_AL2023_NVIDIA does not drive them)', () => {
  for (const [name, gpu] of [[InstanceClass.P3, 'V100'], [InstanceClass.G3, 'M60']] as const) {
    assert.throws(() => synthesize({ instanceClasses: [InstanceClass.G4DN, name] }), (error: Error) => {
      assert.match(error.message, new RegExp(`'instanceClasses': ${name} \\(${gpu}\\) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use \\(supported: g4dn, g5, g6, g6e\\)`));
      assert.ok(!error.message.includes('\n'), error.message);
      return true;
    });
  }
});

test('the environments start from the launch template at its latest version, which changes whenever the template does', () => {
  const [launchTemplateId] = Object.keys(template.findResources('AWS::EC2::LaunchTemplate'));
  for (const id of [spotId, onDemandId]) {
    assert.deepEqual(computeResources(id).LaunchTemplate, {
      LaunchTemplateId: { Ref: launchTemplateId },
      Version: { 'Fn::GetAtt': [launchTemplateId, 'LatestVersionNumber'] },
    });
  }
  // Without a version Batch keeps the one it resolved when the environment was created, so a changed user
  // data would never reach new instances; with it, a change of the template is a change of the environment.
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
    ComputeResources: Match.objectLike({ InstanceTypes: ['g6e.xlarge'], MaxvCpus: 16 }),
  });
});

test('turning both environments off is refused with a reason', () => {
  assert.throws(() => synthesize({ spot: false, onDemand: false }), /'spot' = false and 'onDemand' = false; at least one/);
});

test('maxvCpus below the job size is refused with a reason', () => {
  assert.throws(() => synthesize({ maxvCpus: 2 }), /'maxvCpus' = 2 < 'jobVcpus' = 4; a job could never be placed/);
});
