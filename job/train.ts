import type * as tf from '@tensorflow/tfjs';

import type { ArmSpec } from './augmentation-registry.js';
import type { ArmName, EpochRecord } from './shared/metrics.js';
import { EpochBatches, type LabelledImages, sliceRows } from './batches.js';
import { EMPTY_PARTIAL } from './checkpoint.js';
import type { ArmProgress, EpochPartial } from './shared/checkpoint-state.js';
import type { TrainSplit } from './data/splits.js';
import { setDropoutSeed } from './model.js';
import { deriveSeed } from './random.js';
import { evaluateBatch, trainStep } from './train-step.js';

/** One arm (its name, augmentation and parameters) and the run's training settings. */
export interface ArmSettings extends ArmSpec {
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
}

export interface StepProgress {
  readonly arm: ArmName;
  readonly epoch: number; // 1-based, the epoch in progress
  readonly step: number; // steps done in this epoch
  readonly steps: number;
  readonly partial: EpochPartial;
}

export interface TrainHooks {
  onStep?(progress: StepProgress): void;
  /** After each epoch's validation; the place to write a checkpoint. */
  onEpochEnd?(progress: ArmProgress, record: EpochRecord): Promise<void>;
  /** Checked between steps: true stops training at the step boundary (e.g. on SIGTERM). */
  shouldStop?(): boolean;
}

export type TrainOutcome = { readonly stopped: boolean; readonly progress: ArmProgress };

export function freshProgress(arm: ArmName): ArmProgress {
  return { arm, epoch: 0, partial: EMPTY_PARTIAL, history: [], trainSeconds: 0, trainImages: 0 };
}

/**
 * Trains one arm from `start` (fresh, or a checkpoint: any epoch and step) to the last epoch.
 * Every random choice is derived from (seed, epoch, step), so resuming replays nothing.
 */
export async function trainArm(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  data: { readonly train: TrainSplit; readonly val: LabelledImages },
  settings: ArmSettings,
  start: ArmProgress,
  hooks: TrainHooks = {},
): Promise<TrainOutcome> {
  let progress = start;
  const { arm, batchSize, seed, epochs } = settings;
  while (progress.epoch < epochs) {
    const epoch = progress.epoch + 1;
    const batches = new EpochBatches(data.train, settings, batchSize, seed, epoch);
    let partial = progress.partial;
    for (let step = partial.steps; step < batches.steps; step++) {
      // Steps are synchronous; without a turn of the event loop a SIGTERM would wait for the epoch's end.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.()) return { stopped: true, progress: { ...progress, partial } };
      const began = performance.now();
      const batch = batches.batch(step);
      // Shared by both arms: with the same batches (α = 0) they make the same updates.
      setDropoutSeed(model, deriveSeed(seed, 'dropout', epoch, step));
      const result = trainStep(model, optimizer, batch.x, batch.y, batch.size);
      partial = {
        steps: step + 1,
        lossSum: partial.lossSum + result.lossSum,
        correct: partial.correct + result.correct,
        seen: partial.seen + batch.size,
        seconds: partial.seconds + (performance.now() - began) / 1000,
      };
      hooks.onStep?.({ arm, epoch, step: step + 1, steps: batches.steps, partial });
    }
    const validationStarted = performance.now();
    const val = evaluate(model, data.val, batchSize);
    const record: EpochRecord = {
      epoch,
      loss: partial.lossSum / partial.seen,
      accuracy: partial.correct / partial.seen,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      seconds: partial.seconds + (performance.now() - validationStarted) / 1000,
    };
    progress = {
      arm,
      epoch,
      partial: EMPTY_PARTIAL,
      history: [...progress.history, record],
      trainSeconds: progress.trainSeconds + partial.seconds,
      trainImages: progress.trainImages + partial.seen,
    };
    await hooks.onEpochEnd?.(progress, record);
  }
  return { stopped: false, progress };
}

/** Mean loss and accuracy over a whole split, in inference mode. */
export function evaluate(model: tf.LayersModel, data: LabelledImages, batchSize: number): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const batch = sliceRows(data, start, Math.min(data.count, start + batchSize));
    const result = evaluateBatch(model, batch.x, batch.y, batch.size);
    lossSum += result.lossSum;
    correct += result.correct;
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count };
}
