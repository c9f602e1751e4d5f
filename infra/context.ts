import { Duration, Size } from 'aws-cdk-lib';
import { InstanceType, type InstanceClass } from 'aws-cdk-lib/aws-ec2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { UsageError } from '../job/errors.js';
import { QUEUES } from '../job/shared/queues.js';
import { DEFAULT_STACK_NAME } from '../job/shared/stack.js';
import { classProblem, instanceTypeProblem, NVIDIA_GPU_CLASSES, REFUSED_GPU_CLASSES } from './gpu-instances.js';
import type { MixupBatchStackProps } from './props.js';

export { NVIDIA_GPU_CLASSES, REFUSED_GPU_CLASSES };

/** The deploy-time options a user sets with `npx cdk deploy -c key=value`; an absent one takes the stack's default (infra/stack.ts). */
export const CONTEXT_KEYS = [
  // One switch per registered queue (job/shared/queues.ts): -c gpu=false, -c cpu=false.
  'stackName', ...QUEUES, 'cpuMaxvCpus', 'instanceClasses', 'instanceTypes', 'maxvCpus', 'spot', 'onDemand', 'vpcId', 's3GatewayEndpoint',
  'autoDeleteBuckets', 'logRetentionDays', 'jobTimeoutMinutes', 'jobVcpus', 'jobMemoryMiB',
  'checkpointExpirationDays', 'capacityWaitMinutes', 'baseImage',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** What the app reads from context: the stack's name and its props. */
export interface MixupBatchContext {
  readonly stackName: string;
  readonly props: MixupBatchStackProps;
}

const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const VPC_ID_PATTERN = /^vpc-[0-9a-f]{8,17}$/;

type Lookup = (key: ContextKey) => unknown;
type Parser<T> = (key: ContextKey, raw: unknown) => T;

/**
 * Turns context values into stack props. `lookup` is `app.node.tryGetContext`: values typed after
 * `-c` arrive as strings and values from `cdk.json` as JSON, so both are accepted. An absent key
 * leaves the stack's default. Every malformed value is reported, together, in one error.
 */
export function readContext(lookup: Lookup): MixupBatchContext {
  const problems: string[] = [];
  const read = <T>(key: ContextKey, parse: Parser<T>): T | undefined => {
    const raw = lookup(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    try {
      return parse(key, raw);
    } catch (error) {
      problems.push((error as Error).message);
      return undefined;
    }
  };

  const stackName = read('stackName', parseStackName) ?? DEFAULT_STACK_NAME;
  const jobTimeoutMinutes = read('jobTimeoutMinutes', parseInteger);
  const jobMemoryMiB = read('jobMemoryMiB', parseInteger);
  const checkpointDays = read('checkpointExpirationDays', parseInteger);
  const capacityWaitMinutes = read('capacityWaitMinutes', parseInteger);
  // Both images build and run on the Dockerfile's Debian bookworm Node base; a copy of it (a mirror, a
  // digest) replaces it in every stage.
  const baseImage = read('baseImage', parseImageReference);
  const props: MixupBatchStackProps = {
    ...Object.fromEntries(QUEUES.map((queue) => [queue, read(queue, parseBoolean)])),
    cpuMaxvCpus: read('cpuMaxvCpus', parseInteger),
    imageBuildArgs: baseImage ? { BUILD_BASE: baseImage, CPU_BASE: baseImage } : undefined,
    instanceClasses: read('instanceClasses', parseInstanceClasses),
    instanceTypes: read('instanceTypes', parseInstanceTypes),
    maxvCpus: read('maxvCpus', parseInteger),
    spot: read('spot', parseBoolean),
    onDemand: read('onDemand', parseBoolean),
    vpcId: read('vpcId', parseVpcId),
    s3GatewayEndpoint: read('s3GatewayEndpoint', parseBoolean),
    autoDeleteBuckets: read('autoDeleteBuckets', parseBoolean),
    logRetention: read('logRetentionDays', parseRetention),
    jobTimeout: jobTimeoutMinutes === undefined ? undefined : Duration.minutes(jobTimeoutMinutes),
    jobVcpus: read('jobVcpus', parseInteger),
    jobMemory: jobMemoryMiB === undefined ? undefined : Size.mebibytes(jobMemoryMiB),
    checkpointExpiration: checkpointDays === undefined ? undefined : Duration.days(checkpointDays),
    capacityWait: capacityWaitMinutes === undefined ? undefined : Duration.minutes(capacityWaitMinutes),
  };
  if (problems.length > 0) {
    throw new UsageError(`invalid CDK context (-c key=value or cdk.json):\n  ${problems.join('\n  ')}`);
  }
  return { stackName, props };
}

function parseStackName(key: ContextKey, raw: unknown): string {
  const name = String(raw);
  if (!STACK_NAME_PATTERN.test(name)) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; must start with a letter and hold only letters, digits and '-' (at most 128)`);
  }
  return name;
}

/** A comma-separated list (from -c) or a JSON array (from cdk.json), lower-cased, without blanks. */
function listOf(raw: unknown): string[] {
  const names = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  return names.map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
}

function parseInstanceClasses(key: ContextKey, raw: unknown): InstanceClass[] {
  const classes = listOf(raw);
  if (classes.length === 0) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; give at least one instance class, e.g. g4dn,g5,g6`);
  }
  const problems = classes.map(classProblem).filter((problem) => problem !== null);
  if (problems.length > 0) throw new Error(`'${key}' = ${JSON.stringify(raw)}; ${problems.join('; ')}`);
  if (new Set(classes).size !== classes.length) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; each instance class may appear only once`);
  }
  return classes as InstanceClass[];
}

function parseInstanceTypes(key: ContextKey, raw: unknown): InstanceType[] {
  const types = listOf(raw);
  if (types.length === 0) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; give at least one instance type, e.g. g4dn.2xlarge,g5.xlarge`);
  }
  const problems = types.map(instanceTypeProblem).filter((problem) => problem !== null);
  if (problems.length > 0) throw new Error(`'${key}' = ${JSON.stringify(raw)}; ${problems.join('; ')}`);
  if (new Set(types).size !== types.length) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; each instance type may appear only once`);
  }
  return types.map((type) => new InstanceType(type));
}

/** An image reference for the Node base; a digest (`@sha256:`) is what keeps a rebuild identical. */
function parseImageReference(key: ContextKey, raw: unknown): string {
  const ref = String(raw).trim();
  if (!/^[a-z0-9][a-z0-9._\-/:]*(@sha256:[0-9a-f]{64})?$/.test(ref)) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; must be an image reference, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/node@sha256:<64 hex>`);
  }
  return ref;
}

function parseBoolean(key: ContextKey, raw: unknown): boolean {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`'${key}' = ${JSON.stringify(raw)}; must be true or false`);
}

function parseVpcId(key: ContextKey, raw: unknown): string {
  const id = String(raw);
  if (!VPC_ID_PATTERN.test(id)) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; must look like vpc-0123456789abcdef0`);
  }
  return id;
}

function parseRetention(key: ContextKey, raw: unknown): RetentionDays {
  const days = parseInteger(key, raw);
  const allowed = Object.values(RetentionDays).filter((value): value is number => typeof value === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`'${key}' = ${days}; CloudWatch Logs accepts only ${allowed.join(', ')} days`);
  }
  return days as RetentionDays;
}

function parseInteger(key: ContextKey, raw: unknown): number {
  const value = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new Error(`'${key}' = ${JSON.stringify(raw)}; must be a whole number`);
  }
  return value;
}

/**
 * The account and region the CDK CLI found in the credentials, when it found them: with them the VPC
 * spans 3 AZs (more spot pools for GPUs). Without (CI, no credentials) the stack stays
 * environment-agnostic, 2 AZs, and synth still works.
 */
export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): { account: string; region: string } | undefined {
  const account = env.CDK_DEFAULT_ACCOUNT;
  const region = env.CDK_DEFAULT_REGION;
  return account && region ? { account, region } : undefined;
}
