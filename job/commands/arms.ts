/**
 * Trains the arms a run still needs: one after another on the main thread, or both at once, each in
 * its own worker thread with its own backend instance. Each arm's training depends only on its own
 * batches, dropout seeds and weights, so both ways give the same floats. The checkpoint records every
 * arm in training (`inTraining`), and its writes go through one queue, so two arms finishing epochs
 * together cannot interleave a state with the tensors it points at.
 */
import os from 'node:os';

import type * as tf from '@tensorflow/tfjs';

import { writeModelFiles } from '../artifacts/model-io.js';
import { armSpec } from '../augmentation-registry.js';
import { trainArmJob, type ArmData, type ArmEnd, type ArmEvents, type ArmJob } from '../arm-training.js';
import type { BackendName } from '../backend/select.js';
import { readArmTensors, writeArmTensors, writeState, type TrainingSnapshot } from '../checkpoint.js';
import type { ArmCheckpoint, ArmProgress, CheckpointState } from '../shared/checkpoint-state.js';
import { RUN_FILES } from '../shared/layout.js';
import type { ArmMetrics, ArmName, EpochRecord } from '../shared/metrics.js';
import type { RunConfig } from '../shared/run-settings.js';
import type { Reporter } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import { freshProgress } from '../train.js';
import { ArmWorker, shareData, startArmThread, type ArmThread } from './arm-thread.js';

export type ParallelArms = RunConfig['parallelArms'];

/**
 * `auto`: both arms at once where there are two arms to train and the cores for them, on wasm and cpu
 * (one thread each). Not on `tensorflow`: tfjs-node uses every core for one arm already, and on a GPU
 * two arms would share one device; nobody has measured that it helps, so it is off there unless `on`.
 */
export function useParallelArms(setting: ParallelArms, backend: BackendName, armsLeft: number, cores = os.availableParallelism()): boolean {
  if (armsLeft < 2 || setting === 'off') return false;
  if (setting === 'on') return true;
  return backend !== 'tensorflow' && cores >= 2;
}

export interface ArmsRun {
  readonly arms: readonly ArmName[];
  readonly config: RunConfig;
  readonly run: Storage;
  readonly initial: tf.LayersModel;
  readonly data: ArmData;
  readonly checkpoint: CheckpointState | null;
  /** Arms already finished; arms finished here are added. */
  readonly completed: Record<ArmName, ArmMetrics>;
  readonly reporter: Reporter;
  readonly stopSignal?: { readonly stopped: boolean };
  readonly parallel: boolean;
  readonly backend: BackendName;
  /** Workers started early for the parallel path (see `startArmWorkers`); more are started if too few. */
  readonly workers?: readonly ArmWorker[];
}

/**
 * One worker per arm, started before the run loads its data so that their start-up overlaps it. The
 * caller disposes them when done (those given an arm end with it; disposing them again is harmless).
 */
export function startArmWorkers(count: number, backend: BackendName): ArmWorker[] {
  return Array.from({ length: count }, () => new ArmWorker(backend));
}

/** Trains every arm of `arms` not yet completed; returns the arms stopped by the stop signal (empty: all done). */
export async function trainArms(ctx: ArmsRun): Promise<ArmName[]> {
  const { config, run, completed, reporter } = ctx;
  const book = new CheckpointBook(run, config, completed, { ...ctx.checkpoint?.inTraining });
  const left = ctx.arms.filter((arm) => !completed[arm]);
  const jobs = await Promise.all(left.map((arm) => armJob(arm, ctx)));
  const stopped: ArmName[] = [];
  const finish = async (end: ArmEnd, arm: ArmName) => {
    if (end.stopped) {
      stopped.push(arm);
      return book.saveArm(end.progress, end.snapshot);
    }
    const p = end.progress;
    const metrics: ArmMetrics = { history: p.history, test: end.test, imagesPerSecond: p.trainImages / Math.max(p.trainSeconds, 1e-9) };
    await book.finishArm(arm, metrics, end.model);
    reporter.event('arm-done', { arm, testLoss: end.test.loss, testAccuracy: end.test.accuracy, imagesPerSecond: Math.round(metrics.imagesPerSecond) });
  };
  const epochEnd = (progress: ArmProgress, record: EpochRecord, snapshot: TrainingSnapshot) => {
    reporter.epoch(progress.arm, record, config.epochs);
    return book.saveArm(progress, snapshot);
  };
  if (!ctx.parallel) {
    for (const job of jobs) {
      const arm = job.settings.arm;
      const events: ArmEvents = { step: (p) => reporter.step(p), epochEnd, shouldStop: () => ctx.stopSignal?.stopped ?? false };
      await finish(await trainArmJob(job, ctx.initial.getWeights(), ctx.data, events), arm);
      if (stopped.length > 0) break;
    }
    return stopped;
  }
  const shared = shareData(ctx.data);
  let abort: (error: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  const threads: ArmThread[] = [];
  const stopAll = () => threads.forEach((thread) => thread.stop());
  const step = (p: Parameters<ArmEvents['step']>[0]) => {
    reporter.step(p);
    // Read on every step of either arm, as the sequential path does (it also checks the lease).
    if (ctx.stopSignal?.stopped) stopAll();
  };
  jobs.forEach((job, i) => {
    const worker = ctx.workers?.[i] ?? new ArmWorker(ctx.backend);
    threads.push(startArmThread(job, worker, ctx.initial.getWeights(), shared, { step, epochEnd }, abort));
  });
  try {
    await Promise.race([Promise.all(threads.map((thread) => thread.ready)), Promise.all(threads.map((thread) => thread.done)), aborted]);
    threads.forEach((thread) => thread.go());
    await Promise.race([Promise.all(threads.map((thread, i) => thread.done.then((end) => finish(end, jobs[i]!.settings.arm)))), aborted]);
  } catch (error) {
    await Promise.all(threads.map((thread) => thread.terminate()));
    await book.settled();
    throw error;
  }
  return stopped;
}

async function armJob(arm: ArmName, ctx: ArmsRun): Promise<ArmJob> {
  const { config } = ctx;
  const entry = ctx.checkpoint?.inTraining[arm];
  const settings = { ...armSpec(arm, config), epochs: config.epochs, batchSize: config.batchSize, seed: config.seed };
  if (!entry) return { settings, start: freshProgress(arm), resume: null };
  return { settings, start: entry.progress, resume: { floats: await readArmTensors(ctx.run, entry.tensors), tensors: entry.tensors } };
}

/** The checkpoint as the arms move on: each write waits for the one before, and none follows a failed one. */
class CheckpointBook {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: Storage,
    private readonly config: RunConfig,
    private readonly completed: Record<ArmName, ArmMetrics>,
    private readonly inTraining: Record<ArmName, ArmCheckpoint>,
  ) {}

  saveArm(progress: ArmProgress, snapshot: TrainingSnapshot): Promise<void> {
    return this.enqueue(async () => {
      const tensors = await writeArmTensors(this.run, progress, snapshot);
      this.inTraining[progress.arm] = { progress, tensors };
      await this.writeState();
    });
  }

  finishArm(arm: ArmName, metrics: ArmMetrics, model: Parameters<typeof writeModelFiles>[0]): Promise<void> {
    return this.enqueue(async () => {
      await writeModelFiles(model, this.run, `${RUN_FILES.models}/${arm}`);
      this.completed[arm] = metrics;
      delete this.inTraining[arm];
      await this.writeState();
    });
  }

  /** Resolves when no write is in flight (whether or not the last one failed). */
  settled(): Promise<void> {
    return this.queue.catch(() => {});
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(write);
    return this.queue;
  }

  private writeState(): Promise<void> {
    return writeState(this.run, { runId: this.config.runId, config: this.config, completed: { ...this.completed }, inTraining: { ...this.inTraining } });
  }
}
