/**
 * A sweep's plan: every check that needs no network, done before anything is written, and the
 * environment each child gets.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

import type { z } from 'zod';

import { UsageError } from '../../job/errors.js';
import { methodNames, methodProblem } from '../../job/augmentation-registry.js';
import { gridJobs, GRID_ENV, MAX_ARRAY_SIZE, SHARED_BASELINES, validateGrid, validateMethods } from '../../job/shared/grid.js';
import {
  BASELINE_ARM,
  DEFAULT_METHOD,
  envName,
  FORWARDED_SETTINGS,
  NO_AUGMENTATION,
  RUN_SETTINGS,
  type ForwardedSetting,
} from '../../job/shared/run-settings.js';
import { QUEUES, type QueueName } from '../../job/shared/stack.js';
import { EXECUTORS, type Executor, type SweepRecord, type SweepRun } from '../../job/shared/sweep-record.js';

export const DEFAULT_EXECUTOR: Executor = 'batch';
/** The local executor runs one child per core: each child trains on one thread per arm. */
export function defaultConcurrency(cores = os.availableParallelism()): number {
  return Math.max(1, cores);
}
export const DEFAULT_POLL_SECONDS = 30;
/** Where a local sweep writes when `--results` is absent. */
export const DEFAULT_LOCAL_RESULTS = '.';
const SWEEP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
export type SweepSettings = Partial<Record<ForwardedSetting, string | number>>;

export interface SweepOptions {
  /** The augmentations compared with the baseline, each at every α and seed. @default ['mixup'] */
  readonly methods?: readonly string[];
  /** α values; each is one row of the grid. */
  readonly alphas: readonly number[];
  /** Seed values; `--seeds 3` means [1, 2, 3]. */
  readonly seeds: readonly number[];
  /** Run settings for every child. @default - `mixup run`'s defaults */
  readonly settings?: SweepSettings;
  /** Fashion-MNIST location for the children. @default - batch: `s3://<data bucket>/fashion-mnist`; local: `mixup run`'s default */
  readonly data?: string;
  /** Directory or `s3://bucket/prefix` that receives `sweeps/<id>/`. @default - batch: `s3://<results bucket>`; local: '.' */
  readonly results?: string;
  /** @default 'batch' */
  readonly executor?: Executor;
  /** Local executor: runs at once. @default - the machine's cores (`os.availableParallelism()`) */
  readonly concurrency?: number;
  /** Print the plan; write and submit nothing. @default false */
  readonly dryRun?: boolean;
  /** Batch: follow the array job until it ends. The local executor always waits. @default false */
  readonly wait?: boolean;
  /** Seconds between Batch status polls. @default 30 */
  readonly pollSeconds?: number;
  /** Which of the stack's queues (Batch only). @default 'gpu', or 'cpu' when the stack has no GPU queue */
  readonly queue?: QueueName;
  /** The job queue's ARN. @default - from SSM, `/<stack>/job-queue-arn` (gpu) or `/<stack>/cpu-job-queue-arn` (cpu) */
  readonly jobQueue?: string;
  /** @default - from SSM, `/<stack>/job-definition-arn` (gpu) or `/<stack>/cpu-job-definition-arn` (cpu) */
  readonly jobDefinition?: string;
  /** @default - `<UTC yyyymmdd-hhmmss>-<4 hex>` */
  readonly sweepId?: string;
  /** @default 'MixupBatch' */
  readonly stackName?: string;
  /** Batch: submit without `mixup doctor`'s checks of the queue, image, data and quotas. @default false */
  readonly skipChecks?: boolean;
  /** Batch --wait: give up after this many seconds (exit 1, the jobs keep running). @default none */
  readonly timeoutSeconds?: number;
}


export interface Plan {
  readonly sweepId: string;
  readonly createdAt: string;
  readonly methods: readonly string[];
  readonly alphas: readonly number[];
  readonly seeds: readonly number[];
  readonly runs: SweepRun[];
  readonly settings: Record<string, string | number>;
  readonly settingsEnv: Record<string, string>;
  readonly concurrency: number;
}

/** Validates everything that needs no network; throws before anything is written. */
export function planSweep(options: SweepOptions, now: Date): Plan {
  const problems: string[] = [];
  const collect = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      if (error instanceof UsageError) problems.push(error.message);
      else throw error;
    }
  };
  const methods = options.methods ?? [DEFAULT_METHOD];
  collect(() => validateGrid(options.alphas, options.seeds));
  collect(() => validateMethods(methods));
  for (const method of methods) {
    if (method !== NO_AUGMENTATION && !methodNames().includes(method)) problems.push(`--methods: '${method}' ${methodProblem()}`);
  }
  const executor = options.executor ?? DEFAULT_EXECUTOR;
  if (!(EXECUTORS as readonly string[]).includes(executor)) {
    problems.push(`--executor '${executor}' is unknown; use one of ${EXECUTORS.join(', ')}`);
  }
  const concurrency = options.concurrency ?? (executor === 'local' ? defaultConcurrency() : 1);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    problems.push(`--concurrency ${concurrency}: must be a whole number ≥ 1`);
  } else if (options.concurrency !== undefined && executor !== 'local') {
    problems.push(`--concurrency ${concurrency}: only the local executor takes it; Batch schedules the children itself`);
  }
  if (options.queue !== undefined && !(QUEUES as readonly string[]).includes(options.queue)) {
    problems.push(`--queue '${options.queue}' is unknown; use one of ${QUEUES.join(', ')}`);
  } else if (options.queue !== undefined && executor !== 'batch') {
    problems.push(`--queue ${options.queue}: only the batch executor takes it; the local executor runs on this machine`);
  }
  if (options.pollSeconds !== undefined && !(options.pollSeconds > 0)) {
    problems.push(`--poll-seconds ${options.pollSeconds}: must be > 0`);
  }
  if (options.sweepId !== undefined && !SWEEP_ID_PATTERN.test(options.sweepId)) {
    problems.push(
      `--sweep-id '${options.sweepId}': must be 1–100 letters, digits, '_' or '-', starting with a letter or digit ` +
        '(it becomes part of the Batch job name)',
    );
  }
  if (executor === 'batch') {
    // Batch children run in AWS: a path on this machine would be a path inside their container.
    if (options.results !== undefined && !/^s3:\/\//i.test(options.results)) {
      problems.push(`--results '${options.results}': AWS Batch children cannot write to this machine; use s3://bucket/prefix or --executor local`);
    }
    if (options.data !== undefined && !/^(s3|https):\/\//i.test(options.data)) {
      problems.push(`--data '${options.data}': AWS Batch children cannot read this machine's files; use s3://… or https://…`);
    }
  }
  const settings: Record<string, string | number> = {};
  const settingsEnv: Record<string, string> = {};
  for (const name of FORWARDED_SETTINGS) {
    const value = options.settings?.[name];
    if (value === undefined) continue;
    const parsed = (RUN_SETTINGS[name].parse as z.ZodType).safeParse(String(value));
    if (!parsed.success) {
      problems.push(`${RUN_SETTINGS[name].flag} ${JSON.stringify(String(value))}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      continue;
    }
    settings[name] = parsed.data as string | number;
    settingsEnv[envName(name)] = String(parsed.data);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  const sweepId = options.sweepId ?? defaultSweepId(now);
  const runs: SweepRun[] = gridJobs(options.alphas, options.seeds, methods);
  if (runs.length > MAX_ARRAY_SIZE) {
    throw new UsageError(`the sweep has ${runs.length} arm jobs (${options.seeds.length} baselines + the methods' arms); AWS Batch arrays hold at most ${MAX_ARRAY_SIZE}`);
  }
  return {
    sweepId,
    createdAt: now.toISOString(),
    methods: [...methods],
    alphas: [...options.alphas],
    seeds: [...options.seeds],
    runs,
    settings,
    settingsEnv,
    concurrency,
  };
}

export function defaultSweepId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.\d+Z$/, '');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The variables every child gets: the grid (each child picks its point by array index) and the settings. */
export function childEnvironment(plan: Plan, runsUri: string, data: string | null): Record<string, string> {
  return {
    [GRID_ENV.alphas]: plan.alphas.map(String).join(','),
    [GRID_ENV.seeds]: plan.seeds.map(String).join(','),
    [GRID_ENV.layout]: SHARED_BASELINES,
    [GRID_ENV.methods]: plan.methods.join(','),
    [envName('out')]: runsUri,
    ...(data !== null ? { [envName('data')]: data } : {}),
    ...plan.settingsEnv,
  };
}

/**
 * Local children, as many as `concurrency`, share this machine's cores: a child may train its two arms
 * at once only where every child still gets a core per arm, so parallel runs never ask for more threads
 * than there are cores. An explicit `--parallel-arms` is passed on as given.
 */
export function localThreadEnvironment(plan: Plan, cores = os.availableParallelism()): Record<string, string> {
  if (plan.settings.parallelArms !== undefined || plan.concurrency * 2 <= cores) return {};
  return { [envName('parallelArms')]: 'off' };
}

/** What a sweep trains, against one run of both arms per (method, α, seed): the line `--dry-run` prints. */
export function armTrainings(grid: SweepRecord['grid'], runs: readonly SweepRun[]): string {
  const { alphas, seeds } = grid;
  const methods = grid.methods ?? [DEFAULT_METHOD];
  const baselines = runs.filter((run) => run.arms === BASELINE_ARM).length;
  const arms = runs.length - baselines;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const shared = methods.length > 1 ? 'every method and α' : 'every α';
  const alphaZero = alphas.includes(0) ? '; α = 0 reads the baseline' : '';
  return (
    `${plural(runs.length, 'arm training')} (${plural(baselines, 'baseline')}, one per seed and shared by ${shared}, + ` +
    `${arms} ${methods.join('/')} arm${arms === 1 ? '' : 's'}${alphaZero}) instead of ${2 * methods.length * alphas.length * seeds.length}`
  );
}
