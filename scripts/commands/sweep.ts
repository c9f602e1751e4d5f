/**
 * `mixup sweep`: flags to options, the summary a user reads, and the commander registration. The sweep
 * itself (scripts/sweep/) loads when the command runs, and its AWS side only for a Batch sweep.
 */
import { Command, Option } from 'commander';

import { methodNames } from '../../job/augmentation-registry.js';
import { JobError, UsageError } from '../../job/errors.js';
import { MAX_ARRAY_SIZE, parseMethodList, parseNumberList, seedRange } from '../../job/shared/grid.js';
import { describeQueues } from '../../job/shared/queues.js';
import { DEFAULT_METHOD, FORWARDED_SETTINGS, RUN_SETTINGS, type ForwardedSetting } from '../../job/shared/run-settings.js';
import { DEFAULT_STACK_NAME, QUEUES, type QueueName } from '../../job/shared/stack.js';
import { EXECUTORS, type Executor } from '../../job/shared/sweep-record.js';
import type { SweepDeps } from '../sweep/deps.js';
import {
  armTrainings,
  DEFAULT_EXECUTOR,
  DEFAULT_POLL_SECONDS,
  type SweepOptions,
  type SweepSettings,
} from '../sweep/plan.js';
import type { SweepOutcome } from '../sweep/record.js';
import { formatCounts } from '../sweep/wait.js';


/** A human summary of the plan (dry run) or the submission. */
export function describeSweep(outcome: SweepOutcome): string {
  const { record } = outcome;
  const lines = [
    `${outcome.dryRun ? 'Dry run (nothing written or submitted): ' : ''}sweep ${record.sweepId}, ${record.executor} executor`,
    `  grid:     methods = ${(record.grid.methods ?? [DEFAULT_METHOD]).join(', ')} × α = ${record.grid.alphas.join(', ')} × seeds = ${record.grid.seeds.join(', ')} → ${armTrainings(record.grid, record.runs)}`,
    `  plan:     ${outcome.sweepUri}`,
    `  runs:     ${record.runsUri}/<run-id>  (${record.runs
      .slice(0, 3)
      .map((run) => run.runId)
      .join(', ')}${record.runs.length > 3 ? ', …' : ''})`,
    `  data:     ${record.data ?? "mixup run's default"}`,
  ];
  if (Object.keys(record.settings).length > 0) {
    lines.push(`  settings: ${Object.entries(record.settings).map(([k, v]) => `${RUN_SETTINGS[k as ForwardedSetting].flag} ${v}`).join(' ')}`);
  }
  if (record.batch) {
    const b = record.batch;
    lines.push(
      `  job:      ${b.jobName}${b.arraySize !== null ? ` (array of ${b.arraySize})` : ' (plain job: one point)'}${b.jobId ? ` → ${b.jobId}` : ''}`,
      `  queue:    ${b.queue} (${b.jobQueue})`,
      `  job def:  ${b.jobDefinition}`,
    );
  }
  if (outcome.dryRun && record.batch) {
    lines.push('  environment:', ...Object.entries(record.environment).map(([k, v]) => `    ${k}=${v}`));
  }
  if (outcome.final) lines.push(`  final:    ${formatCounts(outcome.final, record.grid.size)}`);
  if (outcome.failed.length > 0) lines.push(`  failed:   ${outcome.failed.join(', ')}`);
  if (outcome.skipped?.length) lines.push(`  skipped:  ${outcome.skipped.length} complete before this run`);
  if (outcome.stoppedBy) {
    lines.push(
      `  stopped:  by ${outcome.stoppedBy}; ${outcome.interrupted?.length ?? 0} runs checkpointed (${outcome.interrupted?.join(', ') || 'none'}); ` +
        `the same command with --sweep-id ${record.sweepId} continues the sweep`,
    );
  }
  return lines.join('\n');
}


/**
 * Parses a flag as a whole number from `min` to `max`, naming the flag, the value and the rule when it is
 * not. Every count has a ceiling: `--seeds 99999999999` would otherwise reach an array allocation.
 */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\s*[+-]?\d+\s*$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError(`${flag} '${value}': must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  };
}

/** A grid holds at most one AWS Batch array, so no more seeds than that. */
export const MAX_SEEDS = MAX_ARRAY_SIZE;
/** Local runs at once: each is a process training a CNN, so more than this is a typo, not a plan. */
export const MAX_CONCURRENCY = 256;
/** Polls further apart than an hour would leave `--wait` blind to a whole run. */
export const MAX_POLL_SECONDS = 3600;

export function numberOption(flag: string, rule: (n: number) => boolean, ruleText: string): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || !rule(n)) throw new UsageError(`${flag} '${value}': must be ${ruleText}`);
    return n;
  };
}

interface SweepOwnFlags {
  methods?: string;
  alphas: string;
  seeds?: number;
  seedList?: string;
  executor: Executor;
  concurrency?: number;
  dryRun?: boolean;
  wait?: boolean;
  pollSeconds?: number;
  queue?: QueueName;
  jobQueue?: string;
  jobDefinition?: string;
  results?: string;
  data?: string;
  sweepId?: string;
  stackName: string;
  json?: boolean;
  skipChecks?: boolean;
  timeout?: number;
}

/** Every setting a sweep forwards is a flag of its own (typed from the settings table, so none is left out). */
type SweepFlags = SweepOwnFlags & Partial<Record<ForwardedSetting, string>>;

/** Turns parsed flags into `SweepOptions`; exported so tests can check it without a process. */
export function sweepOptionsFromFlags(flags: SweepFlags): SweepOptions {
  if (flags.seeds !== undefined && flags.seedList !== undefined) {
    throw new UsageError('--seeds and --seed-list both given; use --seeds N for seeds 1…N or --seed-list for explicit seeds');
  }
  const seeds = flags.seedList !== undefined ? parseNumberList('--seed-list', flags.seedList) : seedRange(flags.seeds ?? 1);
  const settings: SweepSettings = {};
  for (const name of FORWARDED_SETTINGS) {
    if (flags[name] !== undefined) settings[name] = flags[name];
  }
  return {
    methods: flags.methods === undefined ? undefined : parseMethodList('--methods', flags.methods),
    alphas: parseNumberList('--alphas', flags.alphas),
    seeds,
    settings,
    data: flags.data,
    results: flags.results,
    executor: flags.executor,
    concurrency: flags.concurrency,
    dryRun: flags.dryRun,
    wait: flags.wait,
    pollSeconds: flags.pollSeconds,
    queue: flags.queue,
    jobQueue: flags.jobQueue,
    jobDefinition: flags.jobDefinition,
    sweepId: flags.sweepId,
    stackName: flags.stackName,
    skipChecks: flags.skipChecks,
    timeoutSeconds: flags.timeout,
  };
}

/** Adds `mixup sweep` to the CLI. Failures surface as UsageError / JobError for the entry to print. */
export function register(program: Command, deps?: () => SweepDeps): Command {
  const command = program
    .command('sweep')
    .description('run a grid of methods × α values × seeds against shared baselines: one AWS Batch array job, or child processes here (--executor local)')
    .option('--methods <list>', `comma list of augmentations compared with the baseline, e.g. mixup,cutmix (one of ${methodNames().join(', ')})`, DEFAULT_METHOD)
    .requiredOption('--alphas <list>', 'comma list of α values, e.g. 0,0.1,0.2,0.4,1')
    .option('--seeds <n>', 'seeds 1…n for every α (default: 1)', integerOption('--seeds', 1, MAX_SEEDS))
    .option('--seed-list <list>', 'explicit seeds instead of --seeds, e.g. 7,8,9')
    .addOption(new Option('--executor <name>', 'where the runs execute').choices(EXECUTORS).default(DEFAULT_EXECUTOR))
    .option('--concurrency <n>', 'local executor: runs at once (default: the number of cores)', integerOption('--concurrency', 1, MAX_CONCURRENCY))
    .option('--dry-run', 'print the plan; write and submit nothing')
    .option('--wait', 'batch: follow the array job to its end; exit 1 if any child failed')
    .option('--poll-seconds <s>', `batch --wait: seconds between polls (default: ${DEFAULT_POLL_SECONDS})`, numberOption('--poll-seconds', (n) => n > 0 && n <= MAX_POLL_SECONDS, `> 0 and ≤ ${MAX_POLL_SECONDS}`))
    .option('--results <location>', "directory or s3://bucket/prefix receiving sweeps/<id>/ (default: the stack's results bucket; local: .)")
    .option('--data <location>', "Fashion-MNIST for the children (default: the stack's data bucket; local: mixup run's default)")
    .addOption(new Option('--queue <name>', `batch: which of the stack's queues: ${describeQueues()} (default: gpu, or the stack's first)`).choices(QUEUES))
    .option('--job-queue <arn>', "batch: job queue ARN (default: the chosen queue's, from SSM)")
    .option('--job-definition <arn>', "batch: job definition ARN (default: the chosen queue's, from SSM)")
    .option('--sweep-id <id>', 'name of the sweep (default: UTC time + 4 hex digits)')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the queue and buckets', DEFAULT_STACK_NAME)
    .option('--skip-checks', "batch: submit without mixup doctor's checks (queue, image, data, GPU quotas)")
    .option('--timeout <s>', 'batch --wait: stop waiting after this many seconds (exit 1; the jobs keep running)', numberOption('--timeout', (n) => n > 0, '> 0'))
    .option('--json', "print the sweep record as JSON instead of a summary");
  for (const name of FORWARDED_SETTINGS) {
    const option = RUN_SETTINGS[name];
    command.option(`${option.flag} <value>`, `every run: ${option.help}`);
  }
  command.action(async (flags: SweepFlags) => {
    const options = sweepOptionsFromFlags(flags);
    const { sweep } = await import('../sweep/sweep.js');
    const outcome = await sweep(options, deps?.());
    process.stdout.write(`${flags.json ? JSON.stringify(outcome, null, 2) : describeSweep(outcome)}\n`);
    // 128 + the signal's number, as a shell reports a command the signal ended.
    if (outcome.stoppedBy) process.exitCode = outcome.stoppedBy === 'SIGINT' ? 130 : 143;
    if (outcome.failed.length > 0) {
      throw new JobError(`${outcome.failed.length} of ${outcome.record.grid.size} runs failed: ${outcome.failed.join(', ')}`);
    }
  });
  return command;
}
