import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Duration, Size } from 'aws-cdk-lib';
import { InstanceClass } from 'aws-cdk-lib/aws-ec2';
import { UsageError } from '../../job/errors.js';
import { CONTEXT_KEYS, readContext, type ContextKey } from '../../infra/context.js';
import {
  DEFAULT_CAPACITY_WAIT, DEFAULT_CHECKPOINT_EXPIRATION, DEFAULT_INSTANCE_CLASSES, DEFAULT_JOB_MEMORY,
  DEFAULT_JOB_TIMEOUT, DEFAULT_JOB_VCPUS, DEFAULT_LOG_RETENTION, DEFAULT_MAX_VCPUS,
} from '../../infra/props.js';
import { DEFAULT_STACK_NAME } from '../../job/shared/stack.js';
import { CDK_JSON_CONTEXT } from './support.js';

const from = (values: Partial<Record<ContextKey, unknown>>) => (key: ContextKey) => values[key];

test('no context gives the default stack name and leaves every prop to the stack', () => {
  const { stackName, props } = readContext(from({}));
  assert.equal(stackName, DEFAULT_STACK_NAME);
  assert.deepEqual(Object.values(props).filter((v) => v !== undefined), []);
});

test("cdk.json sets none of the options: their defaults live in infra/stack.ts alone", () => {
  const options = Object.keys(CDK_JSON_CONTEXT).filter((k) => (CONTEXT_KEYS as readonly string[]).includes(k));
  assert.deepEqual(options, []);
});

test('cdk.json turns CLI telemetry off, so an offline synth makes no network request', () => {
  assert.equal(CDK_JSON_CONTEXT['cli-telemetry'], false);
});

test("with cdk.json's context the stack takes its own defaults", () => {
  const { stackName, props } = readContext((key) => CDK_JSON_CONTEXT[key]);
  assert.equal(stackName, DEFAULT_STACK_NAME);
  assert.deepEqual(Object.entries(props).filter(([, v]) => v !== undefined), []);
});

test("the stack's defaults: the values docs/deploy.md's option table documents", () => {
  assert.deepEqual(DEFAULT_INSTANCE_CLASSES, [InstanceClass.G4DN]);
  assert.equal(DEFAULT_MAX_VCPUS, 64);
  assert.equal(DEFAULT_LOG_RETENTION, 30);
  assert.equal(DEFAULT_JOB_TIMEOUT.toMinutes(), 120);
  assert.equal(DEFAULT_JOB_VCPUS, 4);
  assert.equal(DEFAULT_JOB_MEMORY.toMebibytes(), 14336);
  assert.equal(DEFAULT_CHECKPOINT_EXPIRATION.toDays(), 7);
  assert.equal(DEFAULT_CAPACITY_WAIT.toMinutes(), 240);
});

test('values typed after -c arrive as strings and are converted', () => {
  const { stackName, props } = readContext(from({
    stackName: 'MixupDev', instanceClasses: 'g5, G6E', maxvCpus: '32', spot: 'false', onDemand: 'true',
    vpcId: 'vpc-0123456789abcdef0', autoDeleteBuckets: 'true', logRetentionDays: '7', jobTimeoutMinutes: '45',
    jobVcpus: '8', jobMemoryMiB: '30000', checkpointExpirationDays: '3', capacityWaitMinutes: '60',
  }));
  assert.equal(stackName, 'MixupDev');
  assert.deepEqual(props.instanceClasses, [InstanceClass.G5, InstanceClass.G6E]);
  assert.equal(props.maxvCpus, 32);
  assert.equal(props.spot, false);
  assert.equal(props.onDemand, true);
  assert.equal(props.vpcId, 'vpc-0123456789abcdef0');
  assert.equal(props.autoDeleteBuckets, true);
  assert.equal(props.logRetention, 7);
  assert.equal(props.jobTimeout?.toSeconds(), Duration.minutes(45).toSeconds());
  assert.equal(props.jobVcpus, 8);
  assert.equal(props.jobMemory?.toMebibytes(), Size.mebibytes(30_000).toMebibytes());
  assert.equal(props.checkpointExpiration?.toSeconds(), Duration.days(3).toSeconds());
  assert.equal(props.capacityWait?.toSeconds(), Duration.minutes(60).toSeconds());
});

test('a non-NVIDIA or non-x86 instance class is refused with the list of usable ones', () => {
  assert.throws(() => readContext(from({ instanceClasses: 'g4dn,g4ad' })),
    (e: Error) => e instanceof UsageError && /'instanceClasses' = "g4dn,g4ad"; g4ad is not an x86 NVIDIA GPU class \(supported: g4dn, g5, g6, g6e\)/.test(e.message));
  assert.throws(() => readContext(from({ instanceClasses: 'c5' })), /c5 is not an x86 NVIDIA GPU class/);
});

test('8-GPU classes and GPUs newer than cuDNN 8.1 supports are refused at synth with one line each', () => {
  assert.throws(() => readContext(from({ instanceClasses: 'g4dn,p4d' })),
    (e: Error) => e instanceof UsageError && /'instanceClasses' = "g4dn,p4d"; p4d has only an 8-GPU size; a job uses one GPU \(supported: g4dn, g5, g6, g6e\)/.test(e.message));
  assert.throws(() => readContext(from({ instanceClasses: 'p5' })), /p5 \(H100, sm_90\) is 8-GPU and newer than cuDNN 8.1 supports/);
  assert.throws(() => readContext(from({ instanceClasses: 'g7e' })), /g7e \(Blackwell, sm_120\) is newer than CUDA 11.2 and cuDNN 8.1 support/);
  assert.throws(() => readContext(from({ instanceClasses: 'p3dn' })), /p3dn has only an 8-GPU size/);
});

test('p3 and g3 are refused at synth: the ECS_AL2023_NVIDIA AMI does not support them', () => {
  for (const name of ['p3', 'g3', 'g3s', 'p2']) {
    assert.throws(() => readContext(from({ instanceClasses: `g4dn,${name}` })), (e: Error) => e instanceof UsageError &&
      new RegExp(`'instanceClasses' = "g4dn,${name}"; ${name} \\([A-Z0-9]+\\) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use \\(supported: g4dn, g5, g6, g6e\\)$`, 'm').test(e.message));
  }
});

test('-c instanceTypes names sizes of the supported classes, and is checked', () => {
  const { props } = readContext(from({ instanceTypes: 'g4dn.2xlarge, G5.XLARGE' }));
  assert.deepEqual(props.instanceTypes?.map(String), ['g4dn.2xlarge', 'g5.xlarge']);
  assert.throws(() => readContext(from({ instanceTypes: 'p3.2xlarge' })), /'instanceTypes' = "p3\.2xlarge"; p3 \(V100\) is not supported/);
  assert.throws(() => readContext(from({ instanceTypes: 'g4dn' })), /"g4dn" is not an instance type such as g4dn\.xlarge/);
  assert.throws(() => readContext(from({ instanceTypes: 'g5.huge' })), /g5\.huge: huge is not an EC2 instance size/);
  assert.throws(() => readContext(from({ instanceTypes: 'g5.xlarge,g5.xlarge' })), /each instance type may appear only once/);
});

test('the image base: -c baseImage becomes the Dockerfile\'s base in every stage, and is checked', () => {
  const base = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/node@sha256:${'a'.repeat(64)}`;
  const { props } = readContext(from({ baseImage: base }));
  assert.deepEqual(props.imageBuildArgs, { BUILD_BASE: base, CPU_BASE: base });
  assert.equal(readContext(from({})).props.imageBuildArgs, undefined);
  assert.throws(() => readContext(from({ baseImage: 'Bad Image' })), /'baseImage' = "Bad Image"; must be an image reference/);
});

test('the keys of the image that came from Google\'s storage and Docker Hub\'s CUDA base are gone', () => {
  assert.ok(!(CONTEXT_KEYS as readonly string[]).includes('tfjsCdnStorage'));
  assert.ok(!(CONTEXT_KEYS as readonly string[]).includes('runtimeBase'));
});

test('a repeated instance class is refused', () => {
  assert.throws(() => readContext(from({ instanceClasses: 'g5,g5' })), /'instanceClasses' = "g5,g5"; each instance class may appear only once/);
});

test('a boolean option accepts only true or false', () => {
  assert.throws(() => readContext(from({ spot: 'yes' })), /'spot' = "yes"; must be true or false/);
});

test('a whole-number option refuses fractions and words', () => {
  assert.throws(() => readContext(from({ maxvCpus: '1.5' })), /'maxvCpus' = "1.5"; must be a whole number/);
  assert.throws(() => readContext(from({ jobVcpus: 'four' })), /'jobVcpus' = "four"; must be a whole number/);
});

test('a log retention CloudWatch does not offer is refused with the allowed values', () => {
  assert.throws(() => readContext(from({ logRetentionDays: '10' })), /'logRetentionDays' = 10; CloudWatch Logs accepts only 1, 3, 5, 7, 14, 30/);
});

test('a malformed VPC id or stack name is refused', () => {
  assert.throws(() => readContext(from({ vpcId: 'my-vpc' })), /'vpcId' = "my-vpc"; must look like vpc-/);
  assert.throws(() => readContext(from({ stackName: '1bad_name' })), /'stackName' = "1bad_name"; must start with a letter/);
});

test('several bad values are reported together', () => {
  assert.throws(() => readContext(from({ spot: 'maybe', maxvCpus: '-' })), (e: Error) =>
    e.message.includes("'spot' = \"maybe\"") && e.message.includes("'maxvCpus' = \"-\""));
});
