/**
 * Reading one run back: its state (complete only when its manifest verifies) and its test accuracies,
 * and for a Batch sweep's unfinished runs, what Batch says about them.
 */
import type { JobSummary } from '@aws-sdk/client-batch';

import { armsToTrain, BASELINE_ARM, DEFAULT_METHOD, NO_AUGMENTATION } from '../../job/shared/run-settings.js';
import { JobError } from '../../job/errors.js';
import { describeFsError } from '../../job/fs-errors.js';
import { IDENTITY_KEY, readIdentity } from '../../job/run-identity.js';
import { arrayIndexOf, parseGridRunId } from '../../job/shared/grid.js';
import { MANIFEST_KEY, RUN_FILES } from '../../job/shared/layout.js';
import { metricsSchema, METRICS_VERSIONS, type Metrics } from '../../job/shared/metrics.js';
import { parseStoredJson } from '../../job/shared/stored-json.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import type { Storage } from '../../job/storage/storage.js';
import type { BatchApi } from '../batch-client.js';
import { settingsMismatches } from './sweep-settings.js';

/**
 * complete: manifest present and every object verifies. incomplete: objects but no manifest
 * (running, or failed; `running`/`failed` when AWS Batch says which). invalid: a manifest that does
 * not verify, or metrics that contradict the grid. missing: nothing written yet.
 */
export type RunState = 'complete' | 'running' | 'failed' | 'incomplete' | 'invalid' | 'missing';
export const RUN_STATES: readonly RunState[] = ['complete', 'running', 'failed', 'incomplete', 'invalid', 'missing'];

export interface RunResult {
  readonly runId: string;
  /** The augmented arm's method (`none` for a run of the baseline alone that names no method). */
  readonly method: string;
  readonly alpha: number;
  readonly seed: number;
  readonly state: RunState;
  /** Test accuracy of the augmented arm (the method's) and of the baseline (fractions), for complete runs. */
  readonly accuracy: { readonly augmented?: number; readonly baseline?: number };
  /** Why a run is invalid. */
  readonly problems: readonly string[];
  /** Storage of the run, for the report's pictures. */
  readonly uri: string;
  /** Keys the manifest lists (complete runs only). */
  readonly objects: readonly string[];
  /** The backend that trained it and the job's wall time, from metrics.json (complete runs only). */
  readonly backend: string | null;
  readonly wallSeconds: number | null;
  /** run.json's SHA-256 of each data file's contents (complete runs that have one). */
  readonly dataSha256?: Readonly<Record<string, string>> | null;
}

/**
 * One run's state and test accuracies; `point` is the grid point it should be (null: a lone run), its
 * `method` the arm's augmentation where the sweep recorded one (version 3), `sweep` the sweep whose
 * settings it must record. A run folder that cannot be read as one (a file in its place) is invalid,
 * named, rather than the end of the command.
 */
export async function readRun(
  storage: Storage,
  runId: string,
  point: { method?: string; alpha: number; seed: number } | null,
  sweep?: SweepRecord,
): Promise<RunResult> {
  try {
    return await readRunOrThrow(storage, runId, point, sweep);
  } catch (error) {
    const problem = describeFsError(error);
    if (problem === null) throw error;
    const parsed = parseGridRunId(runId);
    const fallback = point ?? parsed ?? { alpha: Number.NaN, seed: Number.NaN };
    return {
      runId, method: point?.method ?? parsed?.method ?? DEFAULT_METHOD, alpha: fallback.alpha, seed: fallback.seed, state: 'invalid', accuracy: {},
      problems: [`${storage.uri} is not a run folder: ${problem}`], uri: storage.uri, objects: [], backend: null, wallSeconds: null,
    };
  }
}

async function readRunOrThrow(
  storage: Storage,
  runId: string,
  point: { method?: string; alpha: number; seed: number } | null,
  sweep: SweepRecord | undefined,
): Promise<RunResult> {
  const parsed = parseGridRunId(runId);
  const fallback = point ?? parsed ?? { alpha: Number.NaN, seed: Number.NaN };
  const result = (state: RunState, extra: Partial<RunResult> = {}): RunResult => ({
    runId,
    method: point?.method ?? parsed?.method ?? DEFAULT_METHOD,
    alpha: fallback.alpha,
    seed: fallback.seed,
    state,
    accuracy: {},
    problems: [],
    uri: storage.uri,
    objects: [],
    backend: null,
    wallSeconds: null,
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
  if (!manifest.objects.some((object) => object.key === RUN_FILES.metrics)) {
    problems.push(`${storage.uriOf(MANIFEST_KEY)} does not list ${RUN_FILES.metrics}`);
  }
  if (problems.length > 0) return result('invalid', { problems });

  let metrics: Metrics;
  try {
    const text = (await storage.read(RUN_FILES.metrics)).toString('utf8');
    metrics = parseStoredJson(storage.uriOf(RUN_FILES.metrics), text, metricsSchema, METRICS_VERSIONS);
  } catch (error) {
    // A damaged or foreign metrics.json leaves this run out of the table, named, rather than ending the command.
    if (error instanceof JobError) return result('invalid', { problems: [error.message] });
    throw error;
  }
  const { method, alpha, seed } = metrics.config;
  if (point && (alpha !== point.alpha || seed !== point.seed || (point.method !== undefined && method !== point.method))) {
    const recorded = `${point.method !== undefined ? `method ${method}, ` : ''}α = ${alpha}, seed = ${seed}`;
    const expected = `${point.method !== undefined ? `method ${point.method}, ` : ''}α = ${point.alpha}, seed = ${point.seed}`;
    return result('invalid', { problems: [`${storage.uriOf(RUN_FILES.metrics)} records ${recorded}; the grid point is ${expected}`] });
  }
  const differences = sweep ? settingsMismatches(sweep, metrics) : [];
  if (differences.length > 0) {
    return result('invalid', { problems: [`${storage.uriOf(RUN_FILES.metrics)} records other settings than the sweep's: ${differences.join('; ')}`] });
  }
  // A complete run has every arm it was asked for; one without is not complete, however it verifies.
  const absent = armsToTrain(metrics.config).filter((arm) => metrics.arms[arm] === undefined);
  if (absent.length > 0) {
    return result('invalid', {
      problems: [`${storage.uriOf(RUN_FILES.metrics)} has no ${absent.join(' or ')} arm, though config.arms is '${metrics.config.arms}'`],
    });
  }
  // The schema holds accuracies to [0, 1]: a null (NaN) or 5.0 made the run invalid above.
  const augmented = method === NO_AUGMENTATION ? undefined : metrics.arms[method]?.test.accuracy;
  const baseline = metrics.arms[BASELINE_ARM]?.test.accuracy;
  const accuracy = { ...(augmented !== undefined ? { augmented } : {}), ...(baseline !== undefined ? { baseline } : {}) };
  return {
    ...result('complete', {
      accuracy,
      objects: manifest.objects.map((object) => object.key),
      backend: metrics.backend,
      wallSeconds: metrics.wallSeconds,
      // The manifest vouched for run.json's bytes; a run from before run.json has none.
      dataSha256: manifest.objects.some((object) => object.key === IDENTITY_KEY) ? ((await readIdentity(storage))?.dataSha256 ?? null) : null,
    }),
    method,
    alpha,
    seed,
  };
}

/**
 * For a Batch sweep with unfinished runs, asks Batch which children failed or are running: two
 * ListJobs calls. Best effort: without credentials, or once Batch has forgotten the job, runs stay
 * `incomplete`.
 */
export async function withBatchStates(runs: RunResult[], record: SweepRecord, deps: { readonly batch?: () => BatchApi }): Promise<RunResult[]> {
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
          const index = arrayIndexOf(child);
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
