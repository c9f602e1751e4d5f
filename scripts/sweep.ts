/**
 * `mixup sweep`: one grid of (α, seed) runs, as ONE AWS Batch array job or as child processes on this
 * machine. Both write the same layout:
 *
 *   <results>/sweeps/<sweep-id>/sweep.json          the plan, written before anything runs
 *   <results>/sweeps/<sweep-id>/runs/<grid-run-id>/  one `mixup run` per grid point
 */
import { spawn as spawnProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { KeyValuePair, SubmitJobCommandInput } from '@aws-sdk/client-batch';
import { Command, Option } from 'commander';
import type { z } from 'zod';

import { envName, RUN_OPTIONS } from '../job/config.js';
import { JobError, UsageError } from '../job/errors.js';
import {
  GRID_ENV,
  gridPoints,
  gridRunId,
  MIN_ARRAY_SIZE,
  parseNumberList,
  seedRange,
  validateGrid,
  type GridPoint,
} from '../job/grid.js';
import { openStorage as openStorageDefault } from '../job/storage/open.js';
import { CONTENT_TYPES, type Storage } from '../job/storage/storage.js';
import { createBatchApi, createSsmApi, readStackParameters, type BatchApi, type SsmApi } from './batch-client.js';
import { DATA_PREFIX, DEFAULT_STACK_NAME, SWEEPS_PREFIX } from './stack-names.js';
import { reportFailures } from './sweep-failures.js';

export const SWEEP_VERSION = 1;
export const SWEEP_FILE = 'sweep.json';
export const EXECUTORS = ['batch', 'local'] as const;
export type Executor = (typeof EXECUTORS)[number];
export const DEFAULT_EXECUTOR: Executor = 'batch';
export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_POLL_SECONDS = 30;
const MAX_UNSEEN_POLLS = 3;
/** Where a local sweep writes when `--results` is absent. */
export const DEFAULT_LOCAL_RESULTS = '.';
const SWEEP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** Batch job states in lifecycle order, for counts that read left to right. */
export const BATCH_STATES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;

/** The `mixup run` settings a sweep forwards to every child (as `MIXUP_*` variables). */
export const FORWARDED_SETTINGS = ['epochs', 'batchSize', 'valSamples', 'trainLimit', 'backend', 'arms'] as const;
export type ForwardedSetting = (typeof FORWARDED_SETTINGS)[number];
export type SweepSettings = Partial<Record<ForwardedSetting, string | number>>;

export interface SweepOptions {
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
  /** Local executor: runs at once. @default 1 */
  readonly concurrency?: number;
  /** Print the plan; write and submit nothing. @default false */
  readonly dryRun?: boolean;
  /** Batch: follow the array job until it ends. The local executor always waits. @default false */
  readonly wait?: boolean;
  /** Seconds between Batch status polls. @default 30 */
  readonly pollSeconds?: number;
  /** @default - from SSM `/<stack>/job-queue-arn` */
  readonly queue?: string;
  /** @default - from SSM `/<stack>/job-definition-arn` */
  readonly jobDefinition?: string;
  /** @default - `<UTC yyyymmdd-hhmmss>-<4 hex>` */
  readonly sweepId?: string;
  /** @default 'MixupBatch' */
  readonly stackName?: string;
}

/** A running child process, as much of it as the local executor needs. */
export interface ChildLike {
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

export type Spawner = (command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv }) => ChildLike;

export interface SweepDeps {
  readonly batch: () => BatchApi;
  readonly ssm: () => SsmApi;
  readonly openStorage: (location: string, option?: string) => Storage;
  readonly now: () => Date;
  readonly spawn: Spawner;
  /** How to start `mixup run`: the command and the arguments before `run`. */
  readonly cli: { readonly command: string; readonly args: readonly string[] };
  /** The parent environment children inherit (minus `MIXUP_*`). */
  readonly env: NodeJS.ProcessEnv;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** Rewrites one status line in place; absent when stderr is not a terminal. */
  readonly status?: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Batch --wait: explains failed runs (status reason, log tail); absent, failures are only counted. */
  readonly reportFailures?: (record: SweepRecord, jobId: string, failed: readonly string[]) => Promise<void>;
}

export interface SweepRun extends GridPoint {
  readonly runId: string;
}

export interface BatchSubmission {
  readonly jobName: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  /** null: a one-point grid, submitted as a plain job (Batch arrays need ≥ 2 children). */
  readonly arraySize: number | null;
  readonly jobId: string | null;
  readonly jobArn: string | null;
}

/** The content of `sweep.json`, also what `sweep()` returns. */
export interface SweepRecord {
  readonly version: typeof SWEEP_VERSION;
  readonly sweepId: string;
  readonly createdAt: string;
  readonly executor: Executor;
  readonly grid: {
    readonly alphas: readonly number[];
    readonly seeds: readonly number[];
    readonly size: number;
    readonly order: string;
  };
  readonly runs: readonly SweepRun[];
  /** The `mixup run` settings given; absent ones take the job's defaults. */
  readonly settings: Readonly<Record<string, string | number>>;
  /** The variables every child gets; the grid variables select its point. */
  readonly environment: Readonly<Record<string, string>>;
  readonly results: string;
  /** Where the runs land: `<results>/sweeps/<id>/runs`. */
  readonly runsUri: string;
  readonly data: string | null;
  readonly batch: BatchSubmission | null;
  readonly local: { readonly concurrency: number } | null;
}

export interface SweepOutcome {
  readonly record: SweepRecord;
  readonly sweepUri: string;
  readonly dryRun: boolean;
  /** Final count per state when the sweep was followed to its end; null otherwise. */
  readonly final: Readonly<Record<string, number>> | null;
  /** Run ids of failed children (when followed to the end). */
  readonly failed: readonly string[];
}

/** Plans a sweep, records it, then submits (Batch) or runs (local) it. */
export async function sweep(options: SweepOptions, deps: SweepDeps = defaultSweepDeps()): Promise<SweepOutcome> {
  const executor = options.executor ?? DEFAULT_EXECUTOR;
  const plan = planSweep(options, deps.now());
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;

  let queue = options.queue ?? null;
  let jobDefinition = options.jobDefinition ?? null;
  let results = options.results ?? (executor === 'local' ? DEFAULT_LOCAL_RESULTS : null);
  let data = options.data ?? null;
  if (executor === 'batch') {
    const wanted = [
      ...(queue === null ? (['jobQueueArn'] as const) : []),
      ...(jobDefinition === null ? (['jobDefinitionArn'] as const) : []),
      ...(results === null ? (['resultsBucket'] as const) : []),
      ...(data === null ? (['dataBucket'] as const) : []),
    ];
    if (wanted.length > 0) {
      const found = await lookUp(deps, wanted, stackName, options.dryRun ?? false);
      queue ??= found.jobQueueArn ?? '(from SSM, unavailable)';
      jobDefinition ??= found.jobDefinitionArn ?? '(from SSM, unavailable)';
      results ??= found.resultsBucket ? `s3://${found.resultsBucket}` : 's3://(results bucket from SSM, unavailable)';
      data ??= `s3://${found.dataBucket ?? '(data bucket from SSM, unavailable)'}/${DATA_PREFIX}`;
    }
  }

  const canOpen = !(options.dryRun && results!.includes('(results bucket'));
  const sweepStorage = canOpen ? deps.openStorage(results!, '--results').child(`${SWEEPS_PREFIX}/${plan.sweepId}`) : null;
  const sweepUri = sweepStorage ? sweepStorage.uriOf(SWEEP_FILE) : `${results}/${SWEEPS_PREFIX}/${plan.sweepId}/${SWEEP_FILE}`;
  const runsUri = sweepStorage ? sweepStorage.child('runs').uri : `${results}/${SWEEPS_PREFIX}/${plan.sweepId}/runs`;
  const environment = childEnvironment(plan, runsUri, data);

  const record: SweepRecord = {
    version: SWEEP_VERSION,
    sweepId: plan.sweepId,
    createdAt: plan.createdAt,
    executor,
    grid: { alphas: plan.alphas, seeds: plan.seeds, size: plan.runs.length, order: 'index = alphaIndex × seeds + seedIndex' },
    runs: plan.runs,
    settings: plan.settings,
    environment,
    results: results!,
    runsUri,
    data,
    batch:
      executor === 'batch'
        ? {
            jobName: `mixup-sweep-${plan.sweepId}`,
            jobQueue: queue!,
            jobDefinition: jobDefinition!,
            arraySize: plan.runs.length >= MIN_ARRAY_SIZE ? plan.runs.length : null,
            jobId: null,
            jobArn: null,
          }
        : null,
    local: executor === 'local' ? { concurrency: plan.concurrency } : null,
  };
  if (options.dryRun) return { record, sweepUri, dryRun: true, final: null, failed: [] };

  const storage = sweepStorage!;
  if (await storage.exists(SWEEP_FILE)) {
    throw new UsageError(`--sweep-id '${plan.sweepId}' is taken: ${sweepUri} exists; choose another id or omit --sweep-id`);
  }
  await writeRecord(storage, record);
  if (executor === 'batch') return submitBatch(record, storage, sweepUri, options, deps);
  return runLocal(record, sweepUri, deps);
}

interface Plan {
  readonly sweepId: string;
  readonly createdAt: string;
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
  collect(() => validateGrid(options.alphas, options.seeds));
  const executor = options.executor ?? DEFAULT_EXECUTOR;
  if (!(EXECUTORS as readonly string[]).includes(executor)) {
    problems.push(`--executor '${executor}' is unknown; use one of ${EXECUTORS.join(', ')}`);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    problems.push(`--concurrency ${concurrency}: must be a whole number ≥ 1`);
  } else if (options.concurrency !== undefined && executor !== 'local') {
    problems.push(`--concurrency ${concurrency}: only the local executor takes it; Batch schedules the children itself`);
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
    const parsed = (RUN_OPTIONS[name].schema as z.ZodType).safeParse(String(value));
    if (!parsed.success) {
      problems.push(`${RUN_OPTIONS[name].flag} ${JSON.stringify(String(value))}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      continue;
    }
    settings[name] = parsed.data as string | number;
    settingsEnv[envName(name)] = String(parsed.data);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  const sweepId = options.sweepId ?? defaultSweepId(now);
  const runs = gridPoints(options.alphas, options.seeds).map((point) => ({
    ...point,
    runId: gridRunId(point.alpha, point.seed),
  }));
  return {
    sweepId,
    createdAt: now.toISOString(),
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
function childEnvironment(plan: Plan, runsUri: string, data: string | null): Record<string, string> {
  return {
    [GRID_ENV.alphas]: plan.alphas.map(String).join(','),
    [GRID_ENV.seeds]: plan.seeds.map(String).join(','),
    [envName('out')]: runsUri,
    ...(data !== null ? { [envName('data')]: data } : {}),
    ...plan.settingsEnv,
  };
}

async function lookUp(
  deps: SweepDeps,
  keys: readonly ('jobQueueArn' | 'jobDefinitionArn' | 'resultsBucket' | 'dataBucket')[],
  stackName: string,
  dryRun: boolean,
): Promise<Partial<Record<(typeof keys)[number], string>>> {
  try {
    return await readStackParameters(deps.ssm(), keys, stackName);
  } catch (error) {
    // A dry run is for looking before leaping; it shows placeholders rather than failing offline.
    if (dryRun && error instanceof JobError) {
      deps.log(`note: ${error.message}`);
      return {};
    }
    throw error;
  }
}

async function writeRecord(storage: Storage, record: SweepRecord): Promise<void> {
  await storage.write(SWEEP_FILE, `${JSON.stringify(record, null, 2)}\n`, CONTENT_TYPES.json);
}

/** The exact SubmitJob input of a sweep. */
export function renderSubmitJob(record: SweepRecord): SubmitJobCommandInput {
  const batch = record.batch!;
  const environment: KeyValuePair[] = Object.entries(record.environment).map(([name, value]) => ({ name, value }));
  return {
    jobName: batch.jobName,
    jobQueue: batch.jobQueue,
    jobDefinition: batch.jobDefinition,
    ...(batch.arraySize !== null ? { arrayProperties: { size: batch.arraySize } } : {}),
    containerOverrides: { environment },
    tags: { 'mixup:sweep-id': record.sweepId },
    propagateTags: true,
  };
}

async function submitBatch(
  record: SweepRecord,
  storage: Storage,
  sweepUri: string,
  options: SweepOptions,
  deps: SweepDeps,
): Promise<SweepOutcome> {
  let response;
  try {
    response = await deps.batch().submitJob(renderSubmitJob(record));
  } catch (error) {
    // Nothing was submitted, so the record would describe a sweep that does not exist.
    await storage.delete(SWEEP_FILE);
    throw new JobError(`AWS Batch refused the sweep's job: ${(error as Error).message}`, { cause: error });
  }
  const submitted: SweepRecord = {
    ...record,
    batch: { ...record.batch!, jobId: response.jobId ?? null, jobArn: response.jobArn ?? null },
  };
  await writeRecord(storage, submitted);
  deps.log(`submitted ${record.batch!.jobName} (${response.jobId}): ${record.runs.length} runs; plan in ${sweepUri}`);
  if (!options.wait || !response.jobId) return { record: submitted, sweepUri, dryRun: false, final: null, failed: [] };
  const { counts, failed } = await waitForBatch(submitted, response.jobId, options.pollSeconds ?? DEFAULT_POLL_SECONDS, deps);
  if (failed.length > 0) await deps.reportFailures?.(submitted, response.jobId, failed);
  return { record: submitted, sweepUri, dryRun: false, final: counts, failed };
}

/** Polls the array job until it ends, printing a count per state; returns the final counts and failures. */
export async function waitForBatch(
  record: SweepRecord,
  jobId: string,
  pollSeconds: number,
  deps: Pick<SweepDeps, 'batch' | 'log' | 'status' | 'sleep'>,
): Promise<{ counts: Record<string, number>; failed: string[] }> {
  const batch = deps.batch();
  let unseen = 0;
  for (;;) {
    const described = await batch.describeJobs([jobId]);
    const job = described.jobs?.[0];
    if (!job) {
      // A job submitted a moment ago can be missing from DescribeJobs for a poll or two.
      if (++unseen > MAX_UNSEEN_POLLS) throw new JobError(`AWS Batch does not know job ${jobId} (sweep ${record.sweepId})`);
      await deps.sleep(pollSeconds * 1000);
      continue;
    }
    const counts: Record<string, number> = job.arrayProperties?.statusSummary
      ? { ...job.arrayProperties.statusSummary }
      : { [job.status ?? 'UNKNOWN']: 1 };
    const line = formatCounts(counts, record.runs.length);
    // An array whose children have all ended is done: AWS then moves the parent to FAILED or
    // SUCCEEDED, and emulators (moto) leave a parent with failed children where it was.
    const size = job.arrayProperties?.size;
    const ended = size !== undefined && size > 0 && (counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0) === size;
    const done = job.status === 'SUCCEEDED' || job.status === 'FAILED' || ended;
    if (deps.status && !done) deps.status(line);
    else deps.log(line);
    if (done) {
      if ((counts.FAILED ?? 0) === 0 && job.status !== 'FAILED') return { counts, failed: [] };
      return { counts, failed: await failedRuns(batch, record, jobId, job.status === 'FAILED' && !job.arrayProperties) };
    }
    await deps.sleep(pollSeconds * 1000);
  }
}

async function failedRuns(batch: BatchApi, record: SweepRecord, jobId: string, plainJobFailed: boolean): Promise<string[]> {
  if (plainJobFailed) return [record.runs[0]!.runId];
  const children = await batch.listJobs({ arrayJobId: jobId, jobStatus: 'FAILED' });
  return children
    .map((child) => child.arrayProperties?.index ?? Number(child.jobId?.split(':').pop()))
    .filter((index) => Number.isSafeInteger(index) && record.runs[index])
    .sort((a, b) => a - b)
    .map((index) => record.runs[index]!.runId);
}

export function formatCounts(counts: Readonly<Record<string, number>>, total: number): string {
  const known = BATCH_STATES.filter((state) => (counts[state] ?? 0) > 0).map((state) => `${state} ${counts[state]}`);
  const other = Object.entries(counts)
    .filter(([state, n]) => !(BATCH_STATES as readonly string[]).includes(state) && n > 0)
    .map(([state, n]) => `${state} ${n}`);
  return `${[...known, ...other].join(' · ') || 'no children yet'} (of ${total})`;
}

/** Runs every grid point as `mixup run` child processes, at most `concurrency` at once. */
async function runLocal(record: SweepRecord, sweepUri: string, deps: SweepDeps): Promise<SweepOutcome> {
  const concurrency = record.local!.concurrency;
  const state = new Map<string, string>(record.runs.map((run) => [run.runId, 'PENDING']));
  const show = () => {
    const counts: Record<string, number> = {};
    for (const value of state.values()) counts[value] = (counts[value] ?? 0) + 1;
    (deps.status ?? deps.log)(formatCounts(counts, record.runs.length));
  };
  deps.log(`sweep ${record.sweepId}: ${record.runs.length} runs, ${concurrency} at a time; plan in ${sweepUri}`);
  const queue = [...record.runs];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      state.set(run.runId, 'RUNNING');
      show();
      const ok = await runChild(run, record, deps);
      state.set(run.runId, ok ? 'SUCCEEDED' : 'FAILED');
      show();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, record.runs.length) }, worker));
  const counts: Record<string, number> = {};
  for (const value of state.values()) counts[value] = (counts[value] ?? 0) + 1;
  const failed = record.runs.filter((run) => state.get(run.runId) === 'FAILED').map((run) => run.runId);
  deps.log(`sweep ${record.sweepId} finished: ${formatCounts(counts, record.runs.length)}`);
  return { record, sweepUri, dryRun: false, final: counts, failed };
}

function runChild(run: SweepRun, record: SweepRecord, deps: SweepDeps): Promise<boolean> {
  const env: NodeJS.ProcessEnv = {};
  // The sweep's settings are the whole truth for its children: a stray MIXUP_ALPHA in the user's
  // shell must not change one point of the grid.
  for (const [name, value] of Object.entries(deps.env)) {
    if (!name.startsWith('MIXUP_') && !name.startsWith('AWS_BATCH_')) env[name] = value;
  }
  Object.assign(env, record.environment, { [GRID_ENV.index]: String(run.index) });
  return new Promise((resolve) => {
    let child: ChildLike;
    try {
      child = deps.spawn(deps.cli.command, [...deps.cli.args, 'run'], { env });
    } catch (error) {
      deps.log(`[${run.runId}] could not start: ${(error as Error).message}`);
      resolve(false);
      return;
    }
    for (const stream of [child.stdout, child.stderr]) forwardLines(stream, (line) => deps.log(`[${run.runId}] ${line}`));
    child.once('error', (error) => {
      deps.log(`[${run.runId}] could not start: ${error.message}`);
      resolve(false);
    });
    child.once('close', (code, signal) => {
      if (code !== 0) deps.log(`[${run.runId}] exited with ${signal ?? `code ${code}`}`);
      resolve(code === 0);
    });
  });
}

function forwardLines(stream: NodeJS.ReadableStream | null, emit: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    // Progress bars redraw with '\r'; only whole lines are worth forwarding.
    const lines = (pending + chunk).split(/\r?\n|\r/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) emit(line);
  });
  stream.on('end', () => {
    if (pending.trim()) emit(pending);
  });
}

/** This package's root: the nearest folder above this file with a package.json. */
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/**
 * `mixup run` through the same Node: the compiled CLI when this module is compiled, the TypeScript
 * source through tsx when it runs from source (tests, `npx tsx`).
 */
export function defaultCli(): { command: string; args: string[] } {
  const root = packageRoot();
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  return fromSource
    ? // tsx resolved from here, not from the working directory, which need not be this package.
      { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), path.join(root, 'job', 'cli.ts')] }
    : { command: process.execPath, args: [path.join(root, 'dist', 'job', 'cli.js')] };
}

export function defaultSweepDeps(): SweepDeps {
  let batch: BatchApi | undefined;
  let ssm: SsmApi | undefined;
  const tty = process.stderr.isTTY === true;
  return {
    batch: () => (batch ??= createBatchApi()),
    ssm: () => (ssm ??= createSsmApi()),
    openStorage: openStorageDefault,
    now: () => new Date(),
    spawn: (command, args, { env }) => spawnProcess(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    cli: defaultCli(),
    env: process.env,
    log: (line) => process.stderr.write(`${tty ? '\x1b[2K\r' : ''}${line}\n`),
    status: tty ? (line) => process.stderr.write(`\x1b[2K\r${line}`) : undefined,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    reportFailures: (record, jobId, failed) => reportFailures(record, jobId, failed, (line) => process.stderr.write(`${line}\n`)),
  };
}

/** A human summary of the plan (dry run) or the submission. */
export function describeSweep(outcome: SweepOutcome): string {
  const { record } = outcome;
  const lines = [
    `${outcome.dryRun ? 'Dry run (nothing written or submitted): ' : ''}sweep ${record.sweepId}, ${record.executor} executor`,
    `  grid:     α = ${record.grid.alphas.join(', ')} × seeds = ${record.grid.seeds.join(', ')} → ${record.grid.size} runs`,
    `  plan:     ${outcome.sweepUri}`,
    `  runs:     ${record.runsUri}/<run-id>  (${record.runs
      .slice(0, 3)
      .map((run) => run.runId)
      .join(', ')}${record.runs.length > 3 ? ', …' : ''})`,
    `  data:     ${record.data ?? "mixup run's default"}`,
  ];
  if (Object.keys(record.settings).length > 0) {
    lines.push(`  settings: ${Object.entries(record.settings).map(([k, v]) => `${RUN_OPTIONS[k as ForwardedSetting].flag} ${v}`).join(' ')}`);
  }
  if (record.batch) {
    const b = record.batch;
    lines.push(
      `  job:      ${b.jobName}${b.arraySize !== null ? ` (array of ${b.arraySize})` : ' (plain job: one point)'}${b.jobId ? ` → ${b.jobId}` : ''}`,
      `  queue:    ${b.jobQueue}`,
      `  job def:  ${b.jobDefinition}`,
    );
  }
  if (outcome.dryRun && record.batch) {
    lines.push('  environment:', ...Object.entries(record.environment).map(([k, v]) => `    ${k}=${v}`));
  }
  if (outcome.final) lines.push(`  final:    ${formatCounts(outcome.final, record.grid.size)}`);
  if (outcome.failed.length > 0) lines.push(`  failed:   ${outcome.failed.join(', ')}`);
  return lines.join('\n');
}

// ---- commander ------------------------------------------------------------------------------------

/** Parses a flag as a whole number ≥ `min`, naming the flag, the value and the rule when it is not. */
export function integerOption(flag: string, min: number): (value: string) => number {
  return (value) => {
    if (!/^\s*[+-]?\d+\s*$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`${flag} '${value}': must be a whole number ≥ ${min}`);
    }
    return Number(value);
  };
}

export function numberOption(flag: string, rule: (n: number) => boolean, ruleText: string): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || !rule(n)) throw new UsageError(`${flag} '${value}': must be ${ruleText}`);
    return n;
  };
}

interface SweepFlags {
  alphas: string;
  seeds?: number;
  seedList?: string;
  executor: Executor;
  concurrency?: number;
  dryRun?: boolean;
  wait?: boolean;
  pollSeconds?: number;
  queue?: string;
  jobDefinition?: string;
  results?: string;
  data?: string;
  sweepId?: string;
  stackName: string;
  json?: boolean;
  epochs?: string;
  batchSize?: string;
  valSamples?: string;
  trainLimit?: string;
  backend?: string;
  arms?: string;
}

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
    jobDefinition: flags.jobDefinition,
    sweepId: flags.sweepId,
    stackName: flags.stackName,
  };
}

/** Adds `mixup sweep` to the CLI. Failures surface as UsageError / JobError for the entry to print. */
export function registerSweepCommand(program: Command, deps?: () => SweepDeps): Command {
  const command = program
    .command('sweep')
    .description('run a grid of α values × seeds: one AWS Batch array job, or child processes here (--executor local)')
    .requiredOption('--alphas <list>', 'comma list of α values, e.g. 0,0.1,0.2,0.4,1')
    .option('--seeds <n>', 'seeds 1…n for every α (default: 1)', integerOption('--seeds', 1))
    .option('--seed-list <list>', 'explicit seeds instead of --seeds, e.g. 7,8,9')
    .addOption(new Option('--executor <name>', 'where the runs execute').choices(EXECUTORS).default(DEFAULT_EXECUTOR))
    .option('--concurrency <n>', `local executor: runs at once (default: ${DEFAULT_CONCURRENCY})`, integerOption('--concurrency', 1))
    .option('--dry-run', 'print the plan; write and submit nothing')
    .option('--wait', 'batch: follow the array job to its end; exit 1 if any child failed')
    .option('--poll-seconds <s>', `batch --wait: seconds between polls (default: ${DEFAULT_POLL_SECONDS})`, numberOption('--poll-seconds', (n) => n > 0, '> 0'))
    .option('--results <location>', "directory or s3://bucket/prefix receiving sweeps/<id>/ (default: the stack's results bucket; local: .)")
    .option('--data <location>', "Fashion-MNIST for the children (default: the stack's data bucket; local: mixup run's default)")
    .option('--queue <arn>', "Batch job queue (default: the stack's, from SSM)")
    .option('--job-definition <arn>', "Batch job definition (default: the stack's, from SSM)")
    .option('--sweep-id <id>', 'name of the sweep (default: UTC time + 4 hex digits)')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the queue and buckets', DEFAULT_STACK_NAME)
    .option('--json', "print the sweep record as JSON instead of a summary");
  for (const name of FORWARDED_SETTINGS) {
    const option = RUN_OPTIONS[name];
    command.option(`${option.flag} <value>`, `every run: ${option.help}`);
  }
  command.action(async (flags: SweepFlags) => {
    const outcome = await sweep(sweepOptionsFromFlags(flags), deps?.());
    process.stdout.write(`${flags.json ? JSON.stringify(outcome, null, 2) : describeSweep(outcome)}\n`);
    if (outcome.failed.length > 0) {
      throw new JobError(`${outcome.failed.length} of ${outcome.record.grid.size} runs failed: ${outcome.failed.join(', ')}`);
    }
  });
  return command;
}
