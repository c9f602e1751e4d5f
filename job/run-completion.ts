/**
 * Whether a run with a manifest is really complete. The manifest's presence alone would let a run whose
 * objects changed since (a truncated upload, an edited weights file, a deleted metrics.json) answer
 * "already complete" forever, and a reused run id whose run.json is gone accept any settings. So every
 * listed object is checked (size and SHA-256, on disk or S3), the manifest must list what a complete
 * run has, and the run's identity is read from each place it lives (run.json, the manifest, metrics.json)
 * and compared with what this start asks for.
 */
import { JobError } from './errors.js';
import { identityDifferences, IDENTITY_KEY, settingsOf, type RunSettings } from './run-identity.js';
import { MANIFEST_KEY, RUN_FILES } from './shared/layout.js';
import { metricsSchema, METRICS_VERSIONS, type Metrics } from './shared/metrics.js';
import { parseStoredJson } from './shared/stored-json.js';
import { verifyManifestObjects, type Manifest } from './storage/manifest.js';
import type { Storage } from './storage/storage.js';

/** Objects a run makes again from its metrics, its data and its settings, without training. */
export const DERIVED_KEYS: readonly string[] = [IDENTITY_KEY, RUN_FILES.history, RUN_FILES.curves, RUN_FILES.samples];

export interface Completion {
  /** One sentence per problem; empty: the run is complete and may be trusted. */
  readonly problems: readonly string[];
  /** Derived objects to write again; when every problem is in one of these, the run can be repaired. */
  readonly rewrite: readonly string[];
  /** A problem in an object only training makes (metrics.json, the models): repaired by training again. */
  readonly needsTraining: boolean;
  /** The run's metrics, when metrics.json verifies. */
  readonly metrics: Metrics | null;
}

export interface WantedRun {
  readonly runId: string;
  readonly settings: RunSettings;
  /** The backend that runs now ('wasm', 'cpu', 'tensorflow'). */
  readonly backend: string;
}

/**
 * Checks a run that has a manifest. Throws (JobError, "use a new --run-id") when the run is another
 * run: its manifest or metrics name another run id, or its metrics record other settings or another
 * backend than this start's. Otherwise returns what, if anything, is wrong.
 */
export async function checkCompletion(run: Storage, manifest: Manifest, wanted: WantedRun): Promise<Completion> {
  const where = run.uri;
  if (manifest.runId !== wanted.runId) {
    throw new JobError(`run ${wanted.runId} at ${where}: its ${MANIFEST_KEY} names run ${manifest.runId}; use a new --run-id`);
  }
  const mismatches = await verifyManifestObjects(run, manifest);
  const bad = new Set(mismatches.map((m) => m.key));
  const problems = mismatches.map((m) => m.problem);
  const listed = new Set(manifest.objects.map((o) => o.key));
  const unlisted = (key: string) => {
    if (listed.has(key)) return false;
    bad.add(key);
    problems.push(`${run.uriOf(MANIFEST_KEY)} does not list ${key}`);
    return true;
  };

  let metrics: Metrics | null = null;
  if (!unlisted(RUN_FILES.metrics) && !bad.has(RUN_FILES.metrics)) {
    const text = (await run.read(RUN_FILES.metrics)).toString('utf8');
    try {
      metrics = parseStoredJson(run.uriOf(RUN_FILES.metrics), text, metricsSchema, METRICS_VERSIONS);
    } catch (error) {
      if (!(error instanceof JobError)) throw error;
      bad.add(RUN_FILES.metrics);
      problems.push(error.message);
    }
  }
  if (metrics) {
    assertSameRun(metrics, wanted, run);
    for (const arm of ['initial', ...Object.keys(metrics.arms)]) {
      for (const file of ['model.json', 'weights.bin']) unlisted(`${RUN_FILES.models}/${arm}/${file}`);
    }
  }
  for (const key of [RUN_FILES.history, RUN_FILES.curves, RUN_FILES.samples]) unlisted(key);

  const needsTraining = [...bad].some((key) => !DERIVED_KEYS.includes(key));
  // run.json is written again when it is listed but damaged or gone; a run from before run.json has none.
  const rewrite = DERIVED_KEYS.filter((key) => bad.has(key));
  return { problems, rewrite, needsTraining, metrics };
}

/**
 * metrics.json's own record of the run against this start: the same run id, settings and backend. The
 * training limit is recorded as used (clamped to the data), so one at or below the asked limit agrees.
 */
function assertSameRun(metrics: Metrics, wanted: WantedRun, run: Storage): void {
  const uri = run.uriOf(RUN_FILES.metrics);
  if (metrics.runId !== wanted.runId) {
    throw new JobError(`run ${wanted.runId} at ${run.uri}: ${uri} records run ${metrics.runId}; use a new --run-id`);
  }
  const recorded = settingsOf(metrics.config, metrics.config.data);
  const asked = wanted.settings.trainLimit;
  const limit = recorded.trainLimit;
  const clamped = asked !== null && limit !== null && limit <= asked ? asked : limit;
  const differences = identityDifferences(
    { settings: { ...recorded, trainLimit: clamped }, backend: metrics.backend },
    { settings: wanted.settings, backend: wanted.backend },
  );
  if (differences.length > 0) {
    throw new JobError(`run ${wanted.runId} at ${run.uri} was trained with other settings, by its ${RUN_FILES.metrics} (${differences.join(', ')}); use a new --run-id`);
  }
}
