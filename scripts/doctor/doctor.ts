/**
 * `mixup doctor`: the deployed stack's checklist, with the fix for each failure; exit 1 on a blocker.
 * `mixup sweep` runs the same checks before it submits (`preflight`), unless `--skip-checks`.
 */
import { JobError } from '../../job/errors.js';
import { DEFAULT_STACK_NAME, type QueueName } from '../../job/shared/stack.js';
import { openStorage as openStorageDefault } from '../../job/storage/open.js';
import type { Storage } from '../../job/storage/storage.js';
import { createSsmApi, type SsmApi } from '../batch-client.js';
import { resolveBatchTarget } from '../sweep/queue.js';
import { createDoctorApi, type DoctorApi } from './aws.js';
import { hasBlocker, runChecks, type Check, type DoctorTarget } from './checks.js';

export interface DoctorDeps {
  readonly api: () => DoctorApi;
  readonly ssm: () => SsmApi;
  readonly openStorage: (location: string, option?: string) => Storage;
  readonly out: (text: string) => void;
}

export function defaultDoctorDeps(): DoctorDeps {
  let api: DoctorApi | undefined;
  let ssm: SsmApi | undefined;
  return {
    api: () => (api ??= createDoctorApi()),
    ssm: () => (ssm ??= createSsmApi()),
    openStorage: openStorageDefault,
    out: (text) => process.stdout.write(text),
  };
}

export interface DoctorOptions {
  readonly stackName?: string;
  /** Which of the stack's queues to check, as for `mixup sweep --queue`. @default gpu, or cpu on a CPU-only stack */
  readonly queue?: QueueName;
  /** A job queue ARN instead of the stack's. */
  readonly jobQueue?: string;
  readonly jobDefinition?: string;
  /** The dataset prefix; default s3://<data bucket>/fashion-mnist. */
  readonly data?: string;
}

const MARK: Record<Check['status'], string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]' };

export function formatChecklist(checks: readonly Check[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${MARK[check.status]} ${check.name}: ${check.detail}`);
    if (check.fix && check.status !== 'ok') lines.push(`       fix: ${check.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function doctor(options: DoctorOptions, deps: DoctorDeps = defaultDoctorDeps()): Promise<Check[]> {
  const target = await resolveTarget(options, deps);
  return runChecks(deps.api(), target);
}

/** Before a sweep submits: the checklist on a problem, and a JobError (exit 1) on a blocker. */
export async function preflight(target: DoctorTarget, api: DoctorApi, log: (line: string) => void): Promise<void> {
  const checks = await runChecks(api, target);
  if (checks.every((check) => check.status === 'ok')) return;
  for (const line of formatChecklist(checks).trimEnd().split('\n')) log(line);
  if (hasBlocker(checks)) {
    const blockers = checks.filter((check) => check.status === 'fail').map((check) => check.name);
    throw new JobError(`not submitted: ${blockers.length} blocker(s) above (${blockers.join('; ')}); fix them, or pass --skip-checks to submit anyway`);
  }
}

async function resolveTarget(options: DoctorOptions, deps: DoctorDeps): Promise<DoctorTarget> {
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  // The same choice of queue as `mixup sweep`: --queue gpu|cpu, else gpu, else the stack's only queue.
  const target = await resolveBatchTarget(
    { queue: options.queue, jobQueue: options.jobQueue, jobDefinition: options.jobDefinition, data: options.data, results: '(not needed)' },
    stackName,
    deps.ssm,
    () => {},
  );
  return {
    stackName,
    jobQueueArn: target.jobQueue,
    jobDefinitionArn: target.jobDefinition,
    data: deps.openStorage(target.data, '--data'),
  };
}
