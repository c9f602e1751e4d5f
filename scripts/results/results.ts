/**
 * `mixup results`: the answer to "does an augmentation help, which one, and for which α?". Reads every run
 * of a sweep (or one run), trusts only runs whose manifest verifies, and reports per method and α the mean
 * test accuracy of the method's arm and of the baseline and their paired difference (the arm − the baseline
 * on the same seed), each with a Student-t 95 % interval over seeds, next to how many runs are complete,
 * still running, failed or missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { NotFoundError, UsageError } from '../../job/errors.js';
import { RUNS_PREFIX, SWEEP_RUNS_DIR, SWEEPS_PREFIX } from '../../job/shared/layout.js';
import { DEFAULT_STACK_NAME } from '../../job/shared/stack.js';
import { CONFIDENCE_LEVEL } from '../../job/stats.js';
import { openStorageLazily } from '../../job/storage/open-lazily.js';
import { CONTENT_TYPES, type Storage } from '../../job/storage/storage.js';
import type { BatchApi, SsmApi } from '../batch-client.js';
import { lazyApi } from '../lazy-api.js';
import { readSweepRecord } from '../sweep/record.js';
import { aggregate, type ResultsSummary } from './aggregate.js';
import { pairArmRuns } from './pairing.js';
import { computeSummary, type RunPlace } from './cost.js';
import { DEFAULT_FORMAT, RESULT_FORMATS, type ResultFormat } from './format.js';
import { readRun, withBatchStates, type RunResult } from './read.js';
import { outliers } from './outliers.js';

/** Beside the sweep, with `--report`. */
export const REPORT_FILE = 'report.html';

export interface ResultsOptions {
  /** A sweep id under `<results>/sweeps/`. Exactly one of `sweep` and `run`. */
  readonly sweep?: string;
  /** A run id under `<results>/runs/`. */
  readonly run?: string;
  /** Directory or `s3://bucket/prefix` holding `sweeps/` and `runs/`. @default - '.' when it holds the sweep/run, else the stack's results bucket */
  readonly results?: string;
  /** @default 'table' */
  readonly format?: ResultFormat;
  /** Write accuracy against α as a PNG here (a path or an s3:// URI). @default - no plot */
  readonly plot?: string;
  /** Write `report.html` beside the sweep. @default false */
  readonly report?: boolean;
  /** @default 'MixupBatch' */
  readonly stackName?: string;
}

export interface ResultsDeps {
  /** A storage for a directory or an s3:// URI (the default loads the S3 client only for the latter). */
  readonly openStorage: (location: string, option?: string) => Storage | Promise<Storage>;
  readonly ssm: () => SsmApi;
  /** Absent: Batch child states are not looked up. */
  readonly batch?: () => BatchApi;
  /** Whether a local path exists (to default `--results` to the current directory). */
  readonly localExists: (file: string) => boolean;
}

/** Reads, verifies and aggregates; writes the plot and report when asked. */
export async function results(options: ResultsOptions, deps: ResultsDeps = defaultResultsDeps()): Promise<ResultsSummary> {
  const format = options.format ?? DEFAULT_FORMAT;
  if (!(RESULT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format '${format}' is unknown; use one of ${RESULT_FORMATS.join(', ')}`);
  }
  if ((options.sweep === undefined) === (options.run === undefined)) {
    throw new UsageError('give exactly one of --sweep <id> and --run <id>');
  }
  if (options.report && options.sweep === undefined) {
    throw new UsageError('--report needs --sweep; a single run already has curves.png and samples.png');
  }
  const kind = options.sweep !== undefined ? 'sweep' : 'run';
  const id = (options.sweep ?? options.run)!;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new UsageError(`--${kind} '${id}': ids are letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  const relative = kind === 'sweep' ? `${SWEEPS_PREFIX}/${id}` : `${RUNS_PREFIX}/${id}`;
  const location = await resultsLocation(options, relative, deps);
  const base = (await deps.openStorage(location, '--results')).child(relative);

  let runs: RunResult[];
  /** What ran: for a sweep with shared baselines, each arm job once, where `runs` has a row per (method, α, seed). */
  let jobs: RunResult[];
  let place: RunPlace = null;
  /** Arms per job: both in version 1 sweeps, whose jobs reserved for two. */
  let arms: 1 | 2 = 1;
  if (kind === 'sweep') {
    const record = await readSweepRecord(base);
    place = record.batch ? record.batch.queue : 'local';
    runs = await Promise.all(
      record.runs.map((point) => readRun(base.child(`${SWEEP_RUNS_DIR}/${point.runId}`), point.runId, point, record)),
    );
    runs = outliers(await withBatchStates(runs, record, deps));
    jobs = runs;
    if (record.version >= 2) runs = pairArmRuns(record, runs);
    else arms = 2;
  } else {
    const run = await readRun(base, id, null);
    if (run.state === 'missing') throw new NotFoundError(base.uri);
    runs = [run];
    jobs = runs;
  }

  const rows = aggregate(runs);
  // The pictures (and the canvas library that draws them) load only when asked for.
  const plotPng = options.plot || options.report ? (await import('./plot.js')).renderAccuracyPlot(rows) : null;
  let plot: string | null = null;
  if (options.plot) {
    plot = await writeTo(options.plot, plotPng!, CONTENT_TYPES.png, deps);
  }
  const compute = computeSummary(jobs, place, arms);
  const summary: ResultsSummary = { kind, id, uri: base.uri, level: CONFIDENCE_LEVEL, rows, runs, compute, plot, report: null };
  if (!options.report) return summary;
  const { renderReport } = await import('./report.js');
  const html = await renderReport(summary, base, plotPng!);
  await base.write(REPORT_FILE, html, CONTENT_TYPES.html);
  return { ...summary, report: base.uriOf(REPORT_FILE) };
}

async function resultsLocation(options: ResultsOptions, relative: string, deps: ResultsDeps): Promise<string> {
  if (options.results !== undefined) return options.results;
  if (deps.localExists(relative)) return '.';
  const { readStackParameters } = await import('../batch-client.js');
  const { resultsBucket } = await readStackParameters(deps.ssm(), ['resultsBucket'], options.stackName ?? DEFAULT_STACK_NAME);
  return `s3://${resultsBucket}`;
}

/** Writes bytes to a local path or an s3:// URI (the storage of its parent). */
async function writeTo(target: string, body: Buffer, contentType: string, deps: ResultsDeps): Promise<string> {
  const slash = target.lastIndexOf('/');
  const parent = slash > 0 ? target.slice(0, slash) : '.';
  const name = slash >= 0 ? target.slice(slash + 1) : target;
  if (!name) throw new UsageError(`--plot '${target}' names a folder; give a file such as accuracy.png`);
  const storage = await deps.openStorage(parent, '--plot');
  await storage.write(name, body, contentType);
  return storage.uriOf(name);
}

export function defaultResultsDeps(): ResultsDeps {
  let ssm: SsmApi | undefined;
  let batch: BatchApi | undefined;
  return {
    openStorage: openStorageLazily,
    // The SDKs load on a client's first call: results of a local sweep make none.
    ssm: () => (ssm ??= lazyApi(async () => (await import('../batch-client.js')).createSsmApi())),
    batch: () => (batch ??= lazyApi(async () => (await import('../batch-client.js')).createBatchApi())),
    localExists: (file) => existsSync(path.resolve(file)),
  };
}
