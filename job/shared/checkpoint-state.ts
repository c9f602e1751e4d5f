/**
 * `checkpoints/state.json`: where a run stands, written by the job and read back when it resumes.
 * The types and the schema that checks a stored state sit together so they cannot drift.
 */
import { z } from 'zod';

import { armsSchema, epochSchema, runConfigSchema, type ArmMetrics, type ArmName, type EpochRecord, type RunConfig } from './metrics.js';

export const CHECKPOINT_VERSION = 1;

/** Sums over the steps of an epoch done so far, so a run resumed mid-epoch reports the same epoch. */
export interface EpochPartial {
  readonly steps: number;
  readonly lossSum: number;
  readonly correct: number;
  readonly seen: number;
  readonly seconds: number;
}

/** Where one arm's training stands: `epoch` epochs done, plus `partial` of the next. */
export interface ArmProgress {
  readonly arm: ArmName;
  readonly epoch: number;
  readonly partial: EpochPartial;
  readonly history: EpochRecord[];
  readonly trainSeconds: number;
  readonly trainImages: number;
}

export interface TensorSpec {
  readonly name: string;
  readonly shape: number[];
  readonly offset: number; // in float32 elements
}

export interface CheckpointState {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly runId: string;
  readonly config: RunConfig;
  readonly savedAt: string;
  /** Arms already trained and tested: their final metrics. */
  readonly completed: Partial<Record<ArmName, ArmMetrics>>;
  /** The arm in training, with its weights and optimizer state in `tensors`; null between arms. */
  readonly current: ArmProgress | null;
  readonly tensors: {
    readonly key: string;
    readonly model: TensorSpec[];
    readonly optimizer: TensorSpec[];
    readonly optimizerProducts: TensorSpec[];
  } | null;
}

const count = z.number().int().nonnegative();
const tensorSpecSchema = z.object({ name: z.string(), shape: z.array(count), offset: count });
export const checkpointStateSchema: z.ZodType<CheckpointState> = z.object({
  version: z.literal(CHECKPOINT_VERSION),
  runId: z.string(),
  config: runConfigSchema,
  savedAt: z.string(),
  completed: armsSchema,
  current: z
    .object({
      arm: z.enum(['mixup', 'baseline']),
      epoch: count,
      partial: z.object({ steps: count, lossSum: z.number(), correct: count, seen: count, seconds: z.number() }),
      history: z.array(epochSchema),
      trainSeconds: z.number(),
      trainImages: count,
    })
    .nullable(),
  tensors: z
    .object({
      key: z.string().min(1),
      model: z.array(tensorSpecSchema),
      optimizer: z.array(tensorSpecSchema),
      optimizerProducts: z.array(tensorSpecSchema),
    })
    .nullable(),
});
