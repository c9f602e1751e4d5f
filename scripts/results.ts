/**
 * `mixup results`: the answer to "does mixup help, and for which α?". Reads every run of a sweep (or
 * one run), trusts only runs whose manifest verifies, and reports per α the mean test accuracy of
 * each arm and the paired difference (mixup − baseline on the same seed), each with a Student-t 95 %
 * interval over seeds, next to how many runs are complete, still running, failed or missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { JobSummary } from '@aws-sdk/client-batch';
import { Command, Option } from 'commander';

import { renderChart } from '../job/artifacts/chart.js';
import { ARM_COLORS } from '../job/artifacts/curves-png.js';
import type { ArmName, Metrics } from '../job/artifacts/metrics-schema.js';
import { JobError, NotFoundError, UsageError } from '../job/errors.js';
import { parseGridRunId } from '../job/grid.js';
import { confidenceInterval, CONFIDENCE_LEVEL, pairedDifferences, type Interval } from '../job/stats.js';
import { MANIFEST_KEY, readManifest, verifyManifest } from '../job/storage/manifest.js';
import { openStorage as openStorageDefault } from '../job/storage/open.js';
import { CONTENT_TYPES, type Storage } from '../job/storage/storage.js';
import { createBatchApi, createSsmApi, readStackParameters, type BatchApi, type SsmApi } from './batch-client.js';
import { renderReport, REPORT_FILE } from './report.js';
import { DEFAULT_STACK_NAME, RUNS_PREFIX, SWEEPS_PREFIX } from './stack-names.js';
import { SWEEP_FILE, type SweepRecord } from './sweep.js';

export const RESULT_FORMATS = ['table', 'csv', 'json', 'md'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];
export const DEFAULT_FORMAT: ResultFormat = 'table';
const METRICS_KEY = 'metrics.json';

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
  readonly openStorage: (location: string, option?: string) => Storage;
  readonly ssm: () => SsmApi;
  /** Absent: Batch child states are not looked up. */
  readonly batch?: () => BatchApi;
  /** Whether a local path exists (to default `--results` to the current directory). */
  readonly localExists: (file: string) => boolean;
}

/**
 * complete: manifest present and every object verifies. incomplete: objects but no manifest
 * (running, or failed; `running`/`failed` when AWS Batch says which). invalid: a manifest that does
 * not verify, or metrics that contradict the grid. missing: nothing written yet.
 */
export type RunState = 'complete' | 'running' | 'failed' | 'incomplete' | 'invalid' | 'missing';
export const RUN_STATES: readonly RunState[] = ['complete', 'running', 'failed', 'incomplete', 'invalid', 'missing'];

export interface RunResult {
  readonly runId: string;
  readonly alpha: number;
  readonly seed: number;
  readonly state: RunState;
  /** Test accuracy per arm (fractions), for complete runs. */
  readonly accuracy: Partial<Record<ArmName, number>>;
  /** Why a run is invalid. */
  readonly problems: readonly string[];
  /** Storage of the run, for the report's pictures. */
  readonly uri: string;
  /** Keys the manifest lists (complete runs only). */
  readonly objects: readonly string[];
}

export interface AlphaRow {
  readonly alpha: number;
  readonly mixup: Interval | null;
  readonly baseline: Interval | null;
  /** Paired over seeds with both arms complete. */
  readonly difference: Interval | null;
  readonly runs: Readonly<Record<RunState, number>>;
  readonly total: number;
}

export interface ResultsSummary {
  readonly kind: 'sweep' | 'run';
  readonly id: string;
  /** The sweep's or the run's base URI. */
  readonly uri: string;
  readonly level: number;
  readonly rows: readonly AlphaRow[];
  readonly runs: readonly RunResult[];
  /** Where the plot and the report went, when asked for. */
  readonly plot: string | null;
  readonly report: string | null;
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
  const base = deps.openStorage(location, '--results').child(relative);

  let runs: RunResult[];
  if (kind === 'sweep') {
    const record = await readSweepRecord(base);
    runs = await Promise.all(
      record.runs.map((point) => readRun(base.child(`runs/${point.runId}`), point.runId, point)),
    );
    runs = await withBatchStates(runs, record, deps);
  } else {
    const run = await readRun(base, id, null);
    if (run.state === 'missing') throw new NotFoundError(base.uri);
    runs = [run];
  }

  const rows = aggregate(runs);
  let plot: string | null = null;
  if (options.plot) {
    plot = await writeTo(options.plot, renderAccuracyPlot(rows), CONTENT_TYPES.png, deps);
  }
  const summary: ResultsSummary = { kind, id, uri: base.uri, level: CONFIDENCE_LEVEL, rows, runs, plot, report: null };
  if (!options.report) return summary;
  const html = await renderReport(summary, base, renderAccuracyPlot(rows));
  await base.write(REPORT_FILE, html, CONTENT_TYPES.html);
  return { ...summary, report: base.uriOf(REPORT_FILE) };
}

async function resultsLocation(options: ResultsOptions, relative: string, deps: ResultsDeps): Promise<string> {
  if (options.results !== undefined) return options.results;
  if (deps.localExists(relative)) return '.';
  const { resultsBucket } = await readStackParameters(deps.ssm(), ['resultsBucket'], options.stackName ?? DEFAULT_STACK_NAME);
  return `s3://${resultsBucket}`;
}

async function readSweepRecord(base: Storage): Promise<SweepRecord> {
  let text: string;
  try {
    text = (await base.read(SWEEP_FILE)).toString('utf8');
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new JobError(`no sweep at ${base.uri}: ${base.uriOf(SWEEP_FILE)} does not exist; check --sweep and --results`);
    }
    throw error;
  }
  try {
    const record = JSON.parse(text) as SweepRecord;
    if (!Array.isArray(record.runs)) throw new Error('no runs list');
    return record;
  } catch (error) {
    throw new JobError(`${base.uriOf(SWEEP_FILE)} is not a sweep record: ${(error as Error).message}`);
  }
}

/** One run's state and test accuracies; `point` is the grid point it should be (null: a lone run). */
export async function readRun(
  storage: Storage,
  runId: string,
  point: { alpha: number; seed: number } | null,
): Promise<RunResult> {
  const fallback = point ?? parseGridRunId(runId) ?? { alpha: Number.NaN, seed: Number.NaN };
  const result = (state: RunState, extra: Partial<RunResult> = {}): RunResult => ({
    runId,
    alpha: fallback.alpha,
    seed: fallback.seed,
    state,
    accuracy: {},
    problems: [],
    uri: storage.uri,
    objects: [],
    ...extra,
  });
  let manifest;
  try {
    manifest = await readManifest(storage);
  } catch (error) {
    if (error instanceof JobError) return result('invalid', { problems: [error.message] });
    throw error;
  }
  if (!manifest) return result((await storage.list()).length > 0 ? 'incomplete' : 'missing');

  const problems = await verifyManifest(storage, manifest);
  if (!manifest.objects.some((object) => object.key === METRICS_KEY)) {
    problems.push(`${storage.uriOf(MANIFEST_KEY)} does not list ${METRICS_KEY}`);
  }
  if (problems.length > 0) return result('invalid', { problems });

  let metrics: Metrics;
  try {
    metrics = JSON.parse((await storage.read(METRICS_KEY)).toString('utf8')) as Metrics;
  } catch (error) {
    return result('invalid', { problems: [`${storage.uriOf(METRICS_KEY)} is not JSON: ${(error as Error).message}`] });
  }
  const alpha = metrics.config?.alpha;
  const seed = metrics.config?.seed;
  if (point && (alpha !== point.alpha || seed !== point.seed)) {
    return result('invalid', {
      problems: [`${storage.uriOf(METRICS_KEY)} records α = ${alpha}, seed = ${seed}; the grid point is α = ${point.alpha}, seed = ${point.seed}`],
    });
  }
  const accuracy: Partial<Record<ArmName, number>> = {};
  for (const arm of ['mixup', 'baseline'] as const) {
    const value = metrics.arms?.[arm]?.test?.accuracy;
    if (typeof value === 'number' && Number.isFinite(value)) accuracy[arm] = value;
  }
  return {
    ...result('complete', { accuracy, objects: manifest.objects.map((object) => object.key) }),
    alpha: typeof alpha === 'number' ? alpha : fallback.alpha,
    seed: typeof seed === 'number' ? seed : fallback.seed,
  };
}

/**
 * For a Batch sweep with unfinished runs, asks Batch which children failed or are running: two
 * ListJobs calls. Best effort: without credentials, or once Batch has forgotten the job, runs stay
 * `incomplete`.
 */
async function withBatchStates(runs: RunResult[], record: SweepRecord, deps: ResultsDeps): Promise<RunResult[]> {
  const jobId = record.batch?.jobId;
  const unfinished = runs.some((run) => run.state === 'incomplete' || run.state === 'missing');
  if (!jobId || !unfinished || !deps.batch) return runs;
  const byIndex = new Map<number, RunState>();
  try {
    const batch = deps.batch();
    if (record.batch?.arraySize === null) {
      const job = (await batch.describeJobs([jobId])).jobs?.[0];
      if (job?.status) byIndex.set(0, batchState(job.status));
    } else {
      for (const status of ['FAILED', 'RUNNING'] as const) {
        const children: JobSummary[] = await batch.listJobs({ arrayJobId: jobId, jobStatus: status });
        for (const child of children) {
          const index = child.arrayProperties?.index ?? Number(child.jobId?.split(':').pop());
          if (Number.isSafeInteger(index)) byIndex.set(index, batchState(status));
        }
      }
    }
  } catch {
    return runs;
  }
  return runs.map((run, index) => {
    const state = byIndex.get(record.runs[index]?.index ?? index);
    if (!state || (run.state !== 'incomplete' && run.state !== 'missing')) return run;
    return { ...run, state };
  });
}

function batchState(status: string): RunState {
  if (status === 'FAILED') return 'failed';
  if (status === 'SUCCEEDED') return 'incomplete';
  return 'running';
}

/** Groups runs by α (ascending) and computes the intervals. Pure. */
export function aggregate(runs: readonly RunResult[], level = CONFIDENCE_LEVEL): AlphaRow[] {
  const alphas = [...new Set(runs.map((run) => run.alpha))].sort((a, b) => a - b);
  return alphas.map((alpha) => {
    const group = runs.filter((run) => Object.is(run.alpha, alpha) || run.alpha === alpha);
    const complete = group.filter((run) => run.state === 'complete').sort((a, b) => a.seed - b.seed);
    const arm = (name: ArmName) => complete.flatMap((run) => (run.accuracy[name] === undefined ? [] : [run.accuracy[name]!]));
    const paired = complete.filter((run) => run.accuracy.mixup !== undefined && run.accuracy.baseline !== undefined);
    const differences = pairedDifferences(
      paired.map((run) => run.accuracy.mixup!),
      paired.map((run) => run.accuracy.baseline!),
    );
    const counts = Object.fromEntries(RUN_STATES.map((state) => [state, 0])) as Record<RunState, number>;
    for (const run of group) counts[run.state]++;
    const interval = (values: number[]) => (values.length > 0 ? confidenceInterval(values, level) : null);
    return {
      alpha,
      mixup: interval(arm('mixup')),
      baseline: interval(arm('baseline')),
      difference: interval(differences),
      runs: counts,
      total: group.length,
    };
  });
}

// ---- output --------------------------------------------------------------------------------------

const HEADERS = ['α', 'seeds', 'mixup acc %', 'baseline acc %', 'mixup − baseline (pp)', 'runs'] as const;

/** `86.80 ± 0.45`; a lone value has no interval. */
export function formatInterval(interval: Interval | null, signed = false): string {
  if (!interval) return '—';
  const fixed = percent(interval.mean);
  const mean = signed && Number(fixed) > 0 ? `+${fixed}` : fixed;
  return interval.halfWidth === null ? `${mean} (n=1)` : `${mean} ± ${percent(interval.halfWidth)}`;
}

/** Two decimals of a percentage, without the '-0.00' that rounding a tiny negative gives. */
function percent(fraction: number): string {
  const text = (fraction * 100).toFixed(2);
  return Number(text) === 0 ? '0.00' : text;
}

/** `3/3 complete` or `1/3 complete, 1 running, 1 missing`. */
export function formatRunCounts(row: AlphaRow): string {
  const rest = RUN_STATES.filter((state) => state !== 'complete' && row.runs[state] > 0).map((state) => `${row.runs[state]} ${state}`);
  return [`${row.runs.complete}/${row.total} complete`, ...rest].join(', ');
}

export function tableCells(row: AlphaRow): string[] {
  const seeds = Math.max(row.mixup?.n ?? 0, row.baseline?.n ?? 0);
  return [
    String(row.alpha),
    String(seeds),
    formatInterval(row.mixup),
    formatInterval(row.baseline),
    formatInterval(row.difference, true),
    formatRunCounts(row),
  ];
}

export function formatResults(summary: ResultsSummary, format: ResultFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(summary, null, 2);
    case 'csv':
      return formatCsv(summary);
    case 'md':
      return formatMarkdown(summary);
    case 'table':
      return formatTable(summary);
  }
}

function caption(summary: ResultsSummary): string {
  const level = Math.round(summary.level * 100);
  return (
    `${summary.kind} ${summary.id} (${summary.uri}): test accuracy, mean ± ${level} % CI over seeds (Student t); ` +
    'difference paired by seed, in percentage points'
  );
}

function formatTable(summary: ResultsSummary): string {
  const rows = summary.rows.map(tableCells);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const render = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : i < 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return [caption(summary), '', render(HEADERS), render(widths.map((w) => '─'.repeat(w))), ...rows.map(render), ...problemLines(summary)]
    .join('\n')
    .replace(/\s+$/gm, '');
}

function formatMarkdown(summary: ResultsSummary): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `_${caption(summary)}_`,
    '',
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, i) => (i < 2 ? '---:' : '---')).join(' | ')} |`,
    ...summary.rows.map((row) => `| ${tableCells(row).map(escape).join(' | ')} |`),
    ...problemLines(summary).map((line) => (line ? `- ${line.trim()}` : line)),
  ].join('\n');
}

function problemLines(summary: ResultsSummary): string[] {
  const invalid = summary.runs.filter((run) => run.state === 'invalid');
  if (invalid.length === 0) return [];
  return ['', 'Invalid runs (left out):', ...invalid.map((run) => `  ${run.runId}: ${run.problems.join('; ')}`)];
}

export const CSV_COLUMNS = [
  'alpha', 'arm', 'n', 'mean', 'sd', 'ci_low', 'ci_high', 'complete', 'running', 'failed', 'incomplete', 'invalid', 'missing',
] as const;

/** One row per α and quantity (mixup, baseline, difference): fractions, full precision. */
function formatCsv(summary: ResultsSummary): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  const value = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));
  for (const row of summary.rows) {
    for (const [arm, interval] of [['mixup', row.mixup], ['baseline', row.baseline], ['difference', row.difference]] as const) {
      lines.push(
        [
          row.alpha, arm, interval?.n ?? 0, value(interval?.mean), value(interval?.sd), value(interval?.low), value(interval?.high),
          ...RUN_STATES.map((state) => row.runs[state]),
        ].join(','),
      );
    }
  }
  return lines.join('\n');
}

/** Accuracy (%) against α, both arms, with 95 % interval bars. */
export function renderAccuracyPlot(rows: readonly AlphaRow[]): Buffer {
  const alphas = rows.map((row) => row.alpha);
  // The arms share every α; a small sideways dodge keeps their error bars apart.
  const dodge = (Math.max(...alphas) - Math.min(...alphas) || 1) * 0.008;
  const series = (['mixup', 'baseline'] as const).map((arm, i) => ({
    label: arm === 'mixup' ? 'mixup (mean ± 95 % CI)' : 'baseline (mean ± 95 % CI)',
    color: ARM_COLORS[arm],
    marker: arm === 'mixup' ? ('circle' as const) : ('square' as const),
    points: rows.flatMap((row) => {
      const interval = row[arm];
      if (!interval) return [];
      return [{
        x: row.alpha + (i === 0 ? -dodge : dodge),
        y: interval.mean * 100,
        // A t interval over two seeds can reach past 100 %; accuracy cannot, so the bar stops there.
        ...(interval.low !== null && interval.high !== null
          ? { yLow: Math.max(0, interval.low * 100), yHigh: Math.min(100, interval.high * 100) }
          : {}),
      }];
    }),
  }));
  return renderChart({
    title: 'Test accuracy against α',
    xLabel: 'α (mixup Beta concentration; baseline does not mix)',
    yLabel: 'test accuracy (%)',
    xTicks: alphas,
    xTickFormat: (x) => String(x),
    series,
  });
}

/** Writes bytes to a local path or an s3:// URI (the storage of its parent). */
async function writeTo(target: string, body: Buffer, contentType: string, deps: ResultsDeps): Promise<string> {
  const slash = target.lastIndexOf('/');
  const parent = slash > 0 ? target.slice(0, slash) : '.';
  const name = slash >= 0 ? target.slice(slash + 1) : target;
  if (!name) throw new UsageError(`--plot '${target}' names a folder; give a file such as accuracy.png`);
  const storage = deps.openStorage(parent, '--plot');
  await storage.write(name, body, contentType);
  return storage.uriOf(name);
}

export function defaultResultsDeps(): ResultsDeps {
  let ssm: SsmApi | undefined;
  let batch: BatchApi | undefined;
  return {
    openStorage: openStorageDefault,
    ssm: () => (ssm ??= createSsmApi()),
    batch: () => (batch ??= createBatchApi()),
    localExists: (file) => existsSync(path.resolve(file)),
  };
}

// ---- commander ------------------------------------------------------------------------------------

interface ResultsFlags {
  sweep?: string;
  run?: string;
  results?: string;
  format: ResultFormat;
  plot?: string;
  report?: boolean;
  stackName: string;
}

/** Adds `mixup results` to the CLI. */
export function registerResultsCommand(program: Command, deps?: () => ResultsDeps): Command {
  return program
    .command('results')
    .description('per α: mixup and baseline test accuracy (mean ± 95 % CI over seeds), their paired difference, run counts')
    .option('--sweep <id>', 'a sweep id (under <results>/sweeps/)')
    .option('--run <id>', 'a single run id (under <results>/runs/)')
    .option('--results <location>', "directory or s3://bucket/prefix (default: . when it holds the sweep/run, else the stack's results bucket)")
    .addOption(new Option('--format <format>', 'output format').choices(RESULT_FORMATS).default(DEFAULT_FORMAT))
    .option('--plot <file.png>', 'also draw accuracy against α with error bars (a path or s3:// URI)')
    .option('--report', 'also write a self-contained report.html beside the sweep')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the results bucket', DEFAULT_STACK_NAME)
    .action(async (flags: ResultsFlags) => {
      const summary = await results(flags, deps?.());
      process.stdout.write(`${formatResults(summary, flags.format)}\n`);
      if (flags.format !== 'json') {
        if (summary.plot) process.stderr.write(`plot: ${summary.plot}\n`);
        if (summary.report) process.stderr.write(`report: ${summary.report}\n`);
      }
    });
}
