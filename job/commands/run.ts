import * as tf from '@tensorflow/tfjs';

import { renderCurves } from '../artifacts/curves-png.js';
import { renderHistoryCsv } from '../artifacts/history-csv.js';
import { METRICS_VERSION, type ArmMetrics, type ArmName, type Metrics } from '../shared/metrics.js';
import { armsToTrain, type RunConfig } from '../shared/run-settings.js';
import { armSpec, augmentation } from '../augmentation-registry.js';
import { loadModel, MODEL_JSON, saveModel, WEIGHTS_BIN } from '../artifacts/model-io.js';
import { renderSamplesGrid } from '../artifacts/samples-png.js';
import { assertGpu, describeDevice, detectDevice, gpuRequired, type DeviceProbe } from '../backend/device.js';
import { initBackend } from '../backend/select.js';
import { EpochBatches } from '../batches.js';
import { assertSameExperiment, discardCheckpoint, readCheckpoint } from '../checkpoint.js';
import { InterruptedError, JobError } from '../errors.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { openDataSource } from '../data/source.js';
import { prepareSplits } from '../data/splits.js';
import { createModel } from '../model.js';
import { createReporter, type Reporter } from '../progress.js';
import { assertSameIdentity, IDENTITY_KEY, identityOf, readIdentity, settingsOf, writeIdentity, type RunIdentity } from '../run-identity.js';
import { checkCompletion } from '../run-completion.js';
import { acquireLease, type RunLease } from '../storage/lease.js';
import { readManifest, writeManifest } from '../storage/manifest.js';
import { openStorage } from '../storage/open.js';
import { CONTENT_TYPES, type Storage } from '../storage/storage.js';
import type { ArmWorker } from './arm-thread.js';
import { startArmWorkers, trainArms, useParallelArms } from './arms.js';
import { IMAGE_PIXELS as PIXELS } from '../shared/fashion-mnist.js';
import { CHECKPOINT_DIR, RUN_FILES, RUN_LEASE } from '../shared/layout.js';

export const SAMPLE_GRID_SIZE = 9;


export interface RunResult {
  readonly status: 'completed' | 'already-complete' | 'repaired' | 'interrupted';
  readonly uri: string;
  readonly metrics: Metrics | null;
}

export interface RunDeps {
  readonly reporter?: Reporter;
  /** Set when the process is asked to stop (SIGTERM); training stops at the next step boundary. */
  readonly stopSignal?: { readonly stopped: boolean };
  /** Aborted with the stopSignal: what cannot wait for a step boundary (a download) stops at once. */
  readonly abortSignal?: AbortSignal;
  /** Drop the run's checkpoint (`--discard-checkpoint`) and train from scratch. */
  readonly discardCheckpoint?: boolean;
  /** nvidia-smi, the native binding and the environment; tests give recorded answers. */
  readonly deviceProbe?: DeviceProbe;
}

/**
 * `mixup run`: trains the arms from one set of initial weights and writes every artifact, then the
 * manifest. A run that already has a checkpoint resumes from it; one with a manifest is left alone.
 */
export async function runExperiment(config: RunConfig, deps: RunDeps = {}): Promise<RunResult> {
  const reporter = deps.reporter ?? createReporter();
  const run = openStorage(config.out, '--out', {
    onOutageWait: (wait) => reporter.event('storage-wait', { ...wait }),
  }).child(config.runId);
  let lease: RunLease | null = null;
  let workers: ArmWorker[] = [];
  try {
    // Before anything of the run is read: one process at a time per run id.
    lease = await acquireLease(run, {
      runId: config.runId,
      onTakeover: (previous) => reporter.event('lease-takeover', { runId: config.runId, previous }),
      onUnsafeStore: (message) => reporter.event('unsafe-store', { runId: config.runId, message }),
    });
    deps = { ...deps, stopSignal: heldStopSignal(lease, deps.stopSignal) };
    const source = openDataSource(config.data || undefined);
    const settings = settingsOf(config, source.location);
    const saved = await readIdentity(run);
    if (saved) assertSameIdentity(saved, { settings }, config.runId, run.uri);
    const requireGpu = gpuRequired(deps.deviceProbe?.env);
    const backend = await initBackend(config.backend);
    if (saved) assertSameIdentity(saved, { backend: backend.backend }, config.runId, run.uri);
    const manifest = await readManifest(run).catch((error: unknown) => {
      // A damaged manifest is a run that cannot vouch for itself: trained again when asked to.
      if (error instanceof JobError && deps.discardCheckpoint) return 'damaged' as const;
      if (error instanceof JobError) throw new JobError(`${error.message}; start again with --discard-checkpoint to train this run from scratch`);
      throw error;
    });
    let retrain = manifest === 'damaged';
    if (manifest && manifest !== 'damaged') {
      const completion = await checkCompletion(run, manifest, { runId: config.runId, settings, backend: backend.backend });
      if (completion.problems.length === 0) {
        reporter.event('already-complete', { runId: config.runId, uri: run.uri });
        return { status: 'already-complete', uri: run.uri, metrics: completion.metrics };
      }
      reporter.event('damaged', { runId: config.runId, uri: run.uri, problems: completion.problems });
      if (!completion.needsTraining && completion.metrics) {
        return await repairRun(run, config, source, completion.metrics, completion.rewrite, manifest.objects.map((o) => o.key), saved, { ...deps, reporter });
      }
      if (!deps.discardCheckpoint) {
        throw new JobError(
          `run ${config.runId} at ${run.uri} has a manifest but is not complete: ${completion.problems.join('; ')}; ` +
            `only training makes these again: start it again with --discard-checkpoint to train it from scratch (same settings, same numbers)`,
        );
      }
      retrain = true;
    }
    if (retrain) {
      // Everything but the lease (and a sound run.json) goes: the run starts from nothing, as a new one.
      const keep = new Set([RUN_LEASE, ...(saved ? [IDENTITY_KEY] : [])]);
      await Promise.all((await run.list()).filter((o) => !keep.has(o.key)).map((o) => run.delete(o.key)));
      reporter.event('retrain', { runId: config.runId, uri: run.uri, note: 'the complete run did not verify; training it again from scratch' });
    }
    const device = await detectDevice(backend, deps.deviceProbe);
    reporter.event('device', { kind: device.kind, detail: describeDevice(device) });
    // Before the checkpoint is read or a step trained: a GPU job without a GPU stops here, at once.
    if (requireGpu) assertGpu(device, backend);
    if (deps.discardCheckpoint) {
      await discardCheckpoint(run);
      reporter.event('checkpoint-discarded', { runId: config.runId });
    }
    const checkpoint = await readCheckpoint(run);
    // Runs from before run.json carry their settings in the checkpoint only.
    if (checkpoint && !saved) assertSameExperiment(checkpoint.config, config, run.uri);

    const arms = armsToTrain(config);
    const armsLeft = arms.filter((arm) => !checkpoint?.completed[arm]).length;
    const parallel = useParallelArms(config.parallelArms, backend.backend, armsLeft);
    // Their start-up (about a second each) overlaps the data load, the initial model and the sample grid.
    workers = parallel ? startArmWorkers(armsLeft, backend.backend) : [];
    const startedAt = new Date();
    reporter.event('start', { runId: config.runId, uri: run.uri, backend: backend.backend, data: source.location, parallelArms: parallel });
    let raw: Awaited<ReturnType<typeof loadFashionMnist>>;
    try {
      raw = await untilAborted(loadFashionMnist(source, { signal: deps.abortSignal }), deps.abortSignal);
    } catch (error) {
      if (!(error instanceof InterruptedError)) throw error;
      reporter.event('interrupted', { runId: config.runId, phase: 'data', note: 'stopped while loading the data, before any training; start again with the same --run-id' });
      return { status: 'interrupted', uri: run.uri, metrics: null };
    }
    const data = prepareSplits(raw, config);
    reporter.event('data', {
      train: data.train.count,
      val: data.val.count,
      test: data.test.count,
      standard: raw.standard,
      seconds: Number(raw.loadSeconds.toFixed(3)),
    });
    const identity = identityOf(config.runId, settings, backend.backend, raw.contentSha256);
    if (saved) assertSameIdentity(saved, identity, config.runId, run.uri);
    // Before any artifact: a later start with this id is compared with it, however early this one dies.
    else await writeIdentity(run, identity);
    // What was used: the resolved data location, and a --train-limit above the data's size clamped to it.
    const fullConfig: RunConfig = {
      ...config,
      data: source.location,
      trainLimit: config.trainLimit === null ? null : data.train.count,
    };

    const initial = await initialModel(run, config.seed);
    if (!(await run.exists(RUN_FILES.samples))) {
      await run.write(RUN_FILES.samples, sampleGrid(data.train, config), CONTENT_TYPES.png);
    }

    const completed: Record<ArmName, ArmMetrics> = { ...checkpoint?.completed };
    if (checkpoint) {
      const inTraining = arms.flatMap((arm) => checkpoint.inTraining[arm]?.progress ?? []);
      // One line per arm in training (two when both trained at once), or one saying none is.
      for (const current of inTraining.length > 0 ? inTraining : [null]) {
        reporter.event('resume', {
          completedArms: Object.keys(completed),
          arm: current?.arm ?? null,
          epoch: current?.epoch ?? null,
          step: current?.partial.steps ?? null,
        });
      }
    }
    try {
      const stopped = await trainArms({
        arms, config: fullConfig, run, initial, data, checkpoint, completed, reporter, stopSignal: deps.stopSignal, parallel, backend: backend.backend, workers,
      });
      if (stopped.length > 0) {
        reporter.event('interrupted', { runId: config.runId, arm: stopped[0], arms: stopped, note: 'checkpoint written; start again with the same --run-id to resume' });
        return { status: 'interrupted', uri: run.uri, metrics: null };
      }
    } finally {
      initial.dispose();
    }

    const finishedAt = new Date();
    const metrics: Metrics = {
      version: METRICS_VERSION,
      runId: config.runId,
      config: fullConfig,
      backend: backend.backend,
      versions: backend.versions,
      device,
      dataset: {
        location: source.location,
        train: data.train.count,
        val: data.val.count,
        test: data.test.count,
        standard: raw.standard,
        sha256sums: raw.sha256sums,
        loadSeconds: raw.loadSeconds,
      },
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      arms: completed,
    };
    const histories = Object.fromEntries(Object.entries(completed).map(([arm, m]) => [arm, m.history]));
    await run.write(RUN_FILES.metrics, `${JSON.stringify(metrics, null, 2)}\n`, CONTENT_TYPES.json);
    await run.write(RUN_FILES.history, renderHistoryCsv(histories), CONTENT_TYPES.csv);
    await run.write(RUN_FILES.curves, renderCurves(histories), CONTENT_TYPES.png);
    const keys: string[] = [IDENTITY_KEY, RUN_FILES.metrics, RUN_FILES.history, RUN_FILES.samples, RUN_FILES.curves];
    for (const name of ['initial', ...Object.keys(completed)]) {
      keys.push(`${RUN_FILES.models}/${name}/${MODEL_JSON}`, `${RUN_FILES.models}/${name}/${WEIGHTS_BIN}`);
    }
    lease.assertHeld();
    await writeManifest(run, config.runId, keys);
    // Complete runs are read through their manifest; the checkpoint's state is spent.
    await Promise.all((await run.list(`${CHECKPOINT_DIR}/`)).map((o) => run.delete(o.key)));
    reporter.event('done', {
      runId: config.runId,
      uri: run.uri,
      ...Object.fromEntries(Object.entries(completed).map(([arm, m]) => [`${arm}TestAccuracy`, m.test.accuracy])),
      wallSeconds: metrics.wallSeconds,
    });
    return { status: 'completed', uri: run.uri, metrics };
  } finally {
    // Workers that never got an arm (the run failed first); the others have ended already.
    await Promise.all(workers.map((worker) => worker.dispose()));
    // A lease left behind goes stale after its lifetime; failing to remove it must not hide the result.
    await lease?.release().catch(() => {});
    reporter.close();
  }
}

/**
 * A complete run whose damage is only in objects made without training (run.json, history.csv,
 * curves.png, samples.png): each is made again (run.json from the data's checksums, the pictures and
 * the table from metrics.json and the data), and the manifest is written again over what is now stored.
 */
async function repairRun(
  run: Storage,
  config: RunConfig,
  source: ReturnType<typeof openDataSource>,
  metrics: Metrics,
  rewrite: readonly string[],
  keys: readonly string[],
  saved: RunIdentity | null,
  deps: RunDeps & { reporter: Reporter },
): Promise<RunResult> {
  const histories = Object.fromEntries(Object.entries(metrics.arms).map(([arm, m]) => [arm, m.history]));
  if (rewrite.includes(IDENTITY_KEY) || rewrite.includes(RUN_FILES.samples)) {
    const raw = await untilAborted(loadFashionMnist(source, { signal: deps.abortSignal }), deps.abortSignal);
    if (rewrite.includes(IDENTITY_KEY)) {
      const identity = identityOf(config.runId, settingsOf(config, source.location), metrics.backend, raw.contentSha256);
      if (saved) assertSameIdentity(saved, identity, config.runId, run.uri);
      await writeIdentity(run, identity);
    }
    if (rewrite.includes(RUN_FILES.samples)) {
      await run.write(RUN_FILES.samples, sampleGrid(prepareSplits(raw, config).train, config), CONTENT_TYPES.png);
    }
  }
  if (rewrite.includes(RUN_FILES.history)) await run.write(RUN_FILES.history, renderHistoryCsv(histories), CONTENT_TYPES.csv);
  if (rewrite.includes(RUN_FILES.curves)) await run.write(RUN_FILES.curves, renderCurves(histories), CONTENT_TYPES.png);
  await writeManifest(run, config.runId, [...keys, ...rewrite]);
  deps.reporter.event('repaired', { runId: config.runId, uri: run.uri, rewritten: rewrite });
  return { status: 'repaired', uri: run.uri, metrics };
}

/**
 * `work`, or an InterruptedError as soon as `signal` aborts: an http download stops itself, but a read
 * from a directory or S3 cannot be cancelled and is left to finish unobserved.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError(`stopped by ${String(signal.reason)}`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Stops training when asked to, and throws (writing nothing more) when the lease has been lost. */
function heldStopSignal(lease: RunLease, stop: RunDeps['stopSignal']): { readonly stopped: boolean } {
  return {
    get stopped() {
      lease.assertHeld();
      return stop?.stopped ?? false;
    },
  };
}

/** The shared initial weights: made and saved once, then read back by every arm and every retry. */
async function initialModel(run: Storage, seed: number): Promise<tf.LayersModel> {
  if (await run.exists(`${RUN_FILES.models}/initial/${MODEL_JSON}`)) {
    return loadModel(run, `${RUN_FILES.models}/initial`);
  }
  const model = createModel(seed);
  await saveModel(model, run, `${RUN_FILES.models}/initial`);
  return model;
}

/** Nine training images of the augmented arm's first batch (the baseline's, for a run of it alone), captioned with both classes. */
function sampleGrid(train: ReturnType<typeof prepareSplits>['train'], config: RunConfig): Buffer {
  const spec = armSpec(config.method, config);
  const batch = new EpochBatches(train, spec, config.batchSize, config.seed, 1).batch(0);
  const [rows1, rows2] = batch.rows;
  const count = Math.min(SAMPLE_GRID_SIZE, batch.size);
  return renderSamplesGrid(
    Array.from({ length: count }, (_, i) => ({
      pixels: batch.x.slice(i * PIXELS, (i + 1) * PIXELS),
      classA: train.labels[rows1[i]!]!,
      classB: train.labels[rows2[i]!]!,
      lamA: batch.lam[i]!,
      box: batch.boxes ? [...batch.boxes.subarray(4 * i, 4 * i + 4)] as [number, number, number, number] : undefined,
    })),
    augmentation(spec.augmentation).samplesTitle,
  );
}
