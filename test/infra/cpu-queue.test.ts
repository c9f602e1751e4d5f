import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobReservation } from '../../job/shared/queues.js';
import { CPU_IMAGE_TARGET, REQUIRE_GPU_ENV } from '../../job/shared/stack.js';
import { FARGATE_SPOT_INTERRUPTED } from '../../infra/cpu-queue.js';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { app, template, stack } = synthesize();
const cpu = stack.cpuQueue!;
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const resources = template.toJSON().Resources;
const spotId = id(cpu.computeEnvironments[0]!);
const onDemandId = id(cpu.computeEnvironments[1]!);
const jobDefinition = resources[id(cpu.jobDefinition)].Properties;
const container = jobDefinition.ContainerProperties;
const gpuJobDefinition = resources[id(stack.gpuQueue!.jobDefinition)].Properties;

function requirement(type: string): string | undefined {
  return container.ResourceRequirements.find((r: { Type: string }) => r.Type === type)?.Value;
}

test('the CPU path is on by default: two Fargate compute environments, Fargate Spot and Fargate on-demand', () => {
  assert.equal(resources[spotId].Properties.ComputeResources.Type, 'FARGATE_SPOT');
  assert.equal(resources[onDemandId].Properties.ComputeResources.Type, 'FARGATE');
  for (const ce of [spotId, onDemandId]) {
    assert.equal(resources[ce].Properties.Type, 'managed');
    assert.equal(resources[ce].Properties.ComputeResources.MaxvCpus, 32);
  }
});

test('the Fargate environments launch into the public subnets of the new VPC', () => {
  for (const ce of [spotId, onDemandId]) {
    const subnets = resources[ce].Properties.ComputeResources.Subnets as { Ref: string }[];
    assert.equal(subnets.length, 2);
    for (const subnet of subnets) assert.match(subnet.Ref, /^VpcPublicSubnet/);
  }
});

test('the CPU queue tries Fargate Spot first and Fargate on-demand second, and cancels stuck jobs like the GPU queue', () => {
  const queue = resources[id(cpu.jobQueue)].Properties;
  assert.deepEqual(queue.ComputeEnvironmentOrder, [
    { ComputeEnvironment: { 'Fn::GetAtt': [spotId, 'ComputeEnvironmentArn'] }, Order: 1 },
    { ComputeEnvironment: { 'Fn::GetAtt': [onDemandId, 'ComputeEnvironmentArn'] }, Order: 2 },
  ]);
  const gpuQueue = resources[id(stack.gpuQueue!.jobQueue)].Properties;
  assert.deepEqual(queue.JobStateTimeLimitActions, gpuQueue.JobStateTimeLimitActions);
  assert.equal(queue.JobStateTimeLimitActions.length, 3);
});

test('the CPU job definition runs on Fargate sized for the one arm a sweep job trains: 1 vCPU, 2048 MiB, no GPU', () => {
  assert.deepEqual(jobDefinition.PlatformCapabilities, ['FARGATE']);
  assert.equal(requirement('VCPU'), '1');
  assert.equal(requirement('MEMORY'), '2048');
  // The registry's reservation, which the cost estimate prices: one home for both.
  assert.deepEqual(jobReservation('cpu'), { vcpus: 1, memoryMiB: 2048, gpus: 0 });
  assert.equal(requirement('GPU'), undefined);
  assert.deepEqual(container.NetworkConfiguration, { AssignPublicIp: 'ENABLED' });
});

test('the CPU job has the GPU job role, log group scheme, data and output locations and region', () => {
  assert.deepEqual(container.JobRoleArn, gpuJobDefinition.ContainerProperties.JobRoleArn);
  assert.equal(container.LogConfiguration.LogDriver, 'awslogs');
  assert.deepEqual(container.LogConfiguration.Options['awslogs-group'], { Ref: id(stack.logGroup) });
  assert.equal(container.LogConfiguration.Options['awslogs-stream-prefix'], 'mixup-cpu');
  const env = (c: { Environment: { Name: string; Value: unknown }[] }) => Object.fromEntries(c.Environment.map((e) => [e.Name, e.Value]));
  // The GPU job's environment less what only a GPU needs: memory growth, the JIT cache, the GPU requirement.
  const { TF_FORCE_GPU_ALLOW_GROWTH, CUDA_CACHE_PATH, CUDA_CACHE_MAXSIZE, [REQUIRE_GPU_ENV]: requireGpu, ...gpuEnv } = env(gpuJobDefinition.ContainerProperties);
  assert.equal(TF_FORCE_GPU_ALLOW_GROWTH, 'true');
  assert.ok(CUDA_CACHE_PATH && CUDA_CACHE_MAXSIZE);
  assert.equal(requireGpu, '1');
  assert.deepEqual(env(container), gpuEnv);
});

test('a Fargate Spot interruption and a failed start are retried, any other failure exits; same attempts and timeout as the GPU job', () => {
  assert.deepEqual(jobDefinition.RetryStrategy, {
    Attempts: gpuJobDefinition.RetryStrategy.Attempts,
    EvaluateOnExit: [
      { Action: 'RETRY', OnStatusReason: FARGATE_SPOT_INTERRUPTED },
      { Action: 'RETRY', OnReason: 'CannotPullContainerError:*' },
      { Action: 'RETRY', OnReason: 'ResourceInitializationError:*' },
      { Action: 'RETRY', OnStatusReason: 'Task failed to start*' },
      { Action: 'EXIT', OnReason: '*' },
    ],
  });
  assert.equal(FARGATE_SPOT_INTERRUPTED, 'Your Spot Task was interrupted*');
  assert.deepEqual(jobDefinition.Timeout, gpuJobDefinition.Timeout);
  assert.equal(jobDefinition.PropagateTags, true);
});

test('the CPU image is its own asset: the Dockerfile built at the cpu target, the GPU one at its last stage', () => {
  assert.notDeepEqual(container.Image, gpuJobDefinition.ContainerProperties.Image);
  const assembly = app.synth();
  const images = Object.values(JSON.parse(readFileSync(join(assembly.directory, 'MixupBatch.assets.json'), 'utf8')).dockerImages) as
    { source: { dockerBuildTarget?: string } }[];
  assert.deepEqual(images.map((image) => image.source.dockerBuildTarget ?? null).sort(), [CPU_IMAGE_TARGET, null].sort());
});

test('cpu=false leaves the GPU stack as it was; gpu=false leaves only the CPU path', () => {
  const gpuOnly = synthesize({ cpu: false });
  assert.equal(gpuOnly.stack.cpuQueue, undefined);
  gpuOnly.template.resourceCountIs('AWS::Batch::ComputeEnvironment', 2);
  gpuOnly.template.resourceCountIs('AWS::Batch::JobQueue', 1);
  gpuOnly.template.resourceCountIs('AWS::Batch::JobDefinition', 1);

  const cpuOnly = synthesize({ gpu: false });
  assert.equal(cpuOnly.stack.gpuQueue, undefined);
  cpuOnly.template.resourceCountIs('AWS::Batch::JobQueue', 1);
  const types = Object.values(cpuOnly.template.findResources('AWS::Batch::ComputeEnvironment')).map((ce) => ce.Properties.ComputeResources.Type);
  assert.deepEqual(types.sort(), ['FARGATE', 'FARGATE_SPOT']);
  const definitions = Object.values(cpuOnly.template.findResources('AWS::Batch::JobDefinition'));
  assert.deepEqual(definitions.map((d) => d.Properties.PlatformCapabilities), [['FARGATE']]);
});

test('a stack with neither queue, or a CPU cap below one job, is refused', () => {
  assert.throws(() => synthesize({ gpu: false, cpu: false }), /'gpu' = false and 'cpu' = false/);
  assert.throws(() => synthesize({ cpuMaxvCpus: 0 }), /'cpuMaxvCpus' = 0 < 1, the vCPUs of one CPU job/);
});
