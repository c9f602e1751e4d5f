/**
 * One arm from its start (fresh or a checkpoint) to its tested end, on whatever backend the calling
 * thread runs: the main thread (arms one after another) or a worker thread (both arms at once). Both
 * paths run this same code, so they compute the same floats.
 */
import * as tf from '@tensorflow/tfjs';

import { serializeModel, type ModelFiles } from './artifacts/model-io.js';
import { restoreFromFloats, snapshotTraining, type TrainingSnapshot } from './checkpoint.js';
import type { LabelledImages } from './batches.js';
import type { TrainSplit } from './data/splits.js';
import { assertFiniteLoss } from './finite-loss.js';
import { createModel } from './model.js';
import type { ArmProgress, TensorSet } from './shared/checkpoint-state.js';
import type { EpochRecord } from './shared/metrics.js';
import { evaluate, trainArm, type ArmSettings, type StepProgress } from './train.js';
import { createOptimizer } from './train-step.js';

export interface ArmJob {
  readonly settings: ArmSettings;
  readonly start: ArmProgress;
  /** The arm's checkpointed tensors when it resumes; null for a fresh start (from the initial weights). */
  readonly resume: { readonly floats: Float32Array; readonly tensors: TensorSet } | null;
}

export interface ArmData {
  readonly train: TrainSplit;
  readonly val: LabelledImages;
  readonly test: LabelledImages;
}

export interface ArmEvents {
  step(progress: StepProgress): void;
  /** After each epoch's validation, with the state a checkpoint needs. */
  epochEnd(progress: ArmProgress, record: EpochRecord, snapshot: TrainingSnapshot): Promise<void>;
  shouldStop(): boolean;
}

export type ArmEnd =
  | { readonly stopped: true; readonly progress: ArmProgress; readonly snapshot: TrainingSnapshot }
  | {
      readonly stopped: false;
      readonly progress: ArmProgress;
      readonly test: { readonly loss: number; readonly accuracy: number };
      readonly model: ModelFiles;
    };

/** Trains and tests one arm; stops at a step boundary when `shouldStop` says so, with its state. */
export async function trainArmJob(job: ArmJob, initialWeights: tf.Tensor[], data: ArmData, events: ArmEvents): Promise<ArmEnd> {
  const { settings } = job;
  const model = createModel(settings.seed);
  const optimizer = createOptimizer();
  model.setWeights(initialWeights);
  try {
    // The optimizer's slots exist only after a first step; restoring creates them.
    if (job.resume) await restoreFromFloats(job.resume.floats, job.resume.tensors, { model, optimizer });
    const outcome = await trainArm(model, optimizer, data, settings, job.start, {
      onStep: (p) => {
        assertFiniteLoss(p);
        events.step(p);
      },
      onEpochEnd: async (progress, record) => events.epochEnd(progress, record, await snapshotTraining({ model, optimizer })),
      shouldStop: () => events.shouldStop(),
    });
    if (outcome.stopped) return { stopped: true, progress: outcome.progress, snapshot: await snapshotTraining({ model, optimizer }) };
    const test = evaluate(model, data.test, settings.batchSize);
    return { stopped: false, progress: outcome.progress, test, model: await serializeModel(model) };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
