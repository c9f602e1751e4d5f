/**
 * Which of the stack's queues (job/shared/queues.ts) a Batch sweep uses, and the ARNs and buckets that go
 * with it. `--queue <name>` picks one; without it the GPU queue, or the first the stack has. One
 * GetParameters call reads every queue's parameters, so a CPU-only stack needs no extra round trip.
 */
import { JobError } from '../../job/errors.js';
import { DATA_PREFIX } from '../../job/shared/layout.js';
import { DEFAULT_QUEUE, QUEUE_PARAMETERS, QUEUES, ssmParameterName, type QueueName } from '../../job/shared/stack.js';
import { flagFor, type SsmApi, type StackParameter } from '../batch-client.js';

export interface BatchTarget {
  readonly queue: QueueName;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  readonly results: string;
  readonly data: string;
}

export interface TargetOptions {
  readonly queue?: QueueName;
  readonly jobQueue?: string;
  readonly jobDefinition?: string;
  readonly results?: string;
  readonly data?: string;
  readonly dryRun?: boolean;
}

/** Reads what the flags leave open from SSM. A dry run without SSM shows placeholders instead of failing. */
export async function resolveBatchTarget(
  options: TargetOptions,
  stackName: string,
  ssm: () => SsmApi,
  log: (line: string) => void,
): Promise<BatchTarget> {
  const candidates: readonly QueueName[] = options.queue ? [options.queue] : QUEUES;
  const arnKeys = (queue: QueueName): StackParameter[] => [
    ...(options.jobQueue === undefined ? [QUEUE_PARAMETERS[queue].jobQueue] : []),
    ...(options.jobDefinition === undefined ? [QUEUE_PARAMETERS[queue].jobDefinition] : []),
  ];
  const bucketKeys: StackParameter[] = [
    ...(options.results === undefined ? (['resultsBucket'] as const) : []),
    ...(options.data === undefined ? (['dataBucket'] as const) : []),
  ];
  const keys = [...candidates.flatMap(arnKeys), ...bucketKeys];

  let found: Partial<Record<StackParameter, string>> = {};
  let unavailable = false;
  if (keys.length > 0) {
    const names = keys.map((key) => ssmParameterName(stackName, key));
    try {
      const values = await ssm().getParameters(names);
      found = Object.fromEntries(keys.flatMap((key, i) => (values[names[i]!] === undefined ? [] : [[key, values[names[i]!]!]])));
    } catch (error) {
      const message =
        `could not read the stack's SSM parameters (${names.join(', ')}): ${(error as Error).message}; ` +
        `deploy the stack, check AWS credentials and region, or pass ${[...new Set(keys.map(flagFor))].join(', ')}`;
      // A dry run is for looking before leaping; it shows placeholders rather than failing offline.
      if (!options.dryRun) throw new JobError(message, { cause: error });
      log(`note: ${message}`);
      unavailable = true;
    }
  }

  const has = (queue: QueueName) => arnKeys(queue).every((key) => found[key] !== undefined);
  const queue = options.queue ?? (has(DEFAULT_QUEUE) ? DEFAULT_QUEUE : (QUEUES.find(has) ?? DEFAULT_QUEUE));
  const missing = [...arnKeys(queue), ...bucketKeys].filter((key) => found[key] === undefined);
  if (missing.length > 0 && !unavailable) {
    const names = missing.map((key) => ssmParameterName(stackName, key)).join(', ');
    const other = options.queue && bucketKeys.every((key) => found[key] !== undefined)
      ? await otherQueue(queue, stackName, ssm)
      : undefined;
    if (other) {
      throw new JobError(
        `the stack '${stackName}' has no ${queue} queue (SSM ${names} not found); deploy it with -c ${queue}=true, or use --queue ${other}`,
      );
    }
    throw new JobError(
      `SSM parameter(s) ${names} not found; is the stack '${stackName}' deployed in this region (--stack-name)? ` +
        `Or pass ${[...new Set(missing.map(flagFor))].join(', ')}`,
    );
  }
  const placeholder = (what: string) => `(${what} from SSM, unavailable)`;
  return {
    queue,
    jobQueue: options.jobQueue ?? found[QUEUE_PARAMETERS[queue].jobQueue] ?? placeholder(`${queue} queue`),
    jobDefinition: options.jobDefinition ?? found[QUEUE_PARAMETERS[queue].jobDefinition] ?? placeholder(`${queue} job definition`),
    results: options.results ?? (found.resultsBucket ? `s3://${found.resultsBucket}` : `s3://${placeholder('results bucket')}`),
    data: options.data ?? `s3://${found.dataBucket ?? placeholder('data bucket')}/${DATA_PREFIX}`,
  };
}

/** On the error path only: another queue the stack has, to name it as the way out. */
async function otherQueue(queue: QueueName, stackName: string, ssm: () => SsmApi): Promise<QueueName | undefined> {
  const others = QUEUES.filter((name) => name !== queue);
  const names = others.flatMap((other) => [QUEUE_PARAMETERS[other].jobQueue, QUEUE_PARAMETERS[other].jobDefinition]).map((key) => ssmParameterName(stackName, key));
  try {
    const values = await ssm().getParameters(names);
    return others.find((_, i) => values[names[2 * i]!] !== undefined && values[names[2 * i + 1]!] !== undefined);
  } catch {
    return undefined;
  }
}
