/**
 * `mixup doctor`: the deployed stack's checklist, with the fix for each failure; exit 1 on a blocker.
 * `mixup sweep` runs the same checks before it submits (`preflight`), unless `--skip-checks`.
 */
import type { Command } from 'commander';

import { JobError } from '../../job/errors.js';
import { DATA_PREFIX } from '../../job/shared/layout.js';
import { DEFAULT_STACK_NAME } from '../../job/shared/stack.js';
import { openStorage as openStorageDefault } from '../../job/storage/open.js';
import type { Storage } from '../../job/storage/storage.js';
import { createSsmApi, readStackParameters, type SsmApi } from '../batch-client.js';
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
  /** The queue to check (the stack's by default); a stack with several queues is checked one at a time. */
  readonly queue?: string;
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
  const wanted = [
    ...(options.queue ? [] : (['jobQueueArn'] as const)),
    ...(options.jobDefinition ? [] : (['jobDefinitionArn'] as const)),
    ...(options.data ? [] : (['dataBucket'] as const)),
  ];
  const found: Partial<Record<(typeof wanted)[number], string>> = wanted.length > 0 ? await readStackParameters(deps.ssm(), wanted, stackName) : {};
  const data = options.data ?? `s3://${found.dataBucket}/${DATA_PREFIX}`;
  return {
    stackName,
    jobQueueArn: options.queue ?? found.jobQueueArn!,
    jobDefinitionArn: options.jobDefinition ?? found.jobDefinitionArn!,
    data: deps.openStorage(data, '--data'),
  };
}

export function registerDoctorCommand(program: Command, deps?: () => DoctorDeps): Command {
  return program
    .command('doctor')
    .description('check the deployed stack before a sweep: queue, compute environments, job definition, image, data, GPU quotas')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the queue and buckets', DEFAULT_STACK_NAME)
    .option('--queue <arn>', "the job queue to check (default: the stack's, from SSM)")
    .option('--job-definition <arn>', "the job definition to check (default: the stack's, from SSM)")
    .option('--data <location>', "the dataset prefix (default: the stack's data bucket)")
    .action(async (flags: DoctorOptions) => {
      const resolved = deps?.() ?? defaultDoctorDeps();
      const checks = await doctor(flags, resolved);
      resolved.out(formatChecklist(checks));
      const blockers = checks.filter((check) => check.status === 'fail');
      if (blockers.length > 0) throw new JobError(`${blockers.length} blocker(s): jobs would not run until they are fixed`);
    });
}
