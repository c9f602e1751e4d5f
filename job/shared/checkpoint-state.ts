/**
 * `checkpoints/state.json`: where a run stands, written by the job and read back when it resumes.
 * The types and the schema that checks a stored state sit together so they cannot drift.
 */
import { z } from 'zod';

import { armsSchema, epochSchema, type ArmMetrics, type ArmName, type EpochRecord } from './metrics.js';
import { METHOD_NAME_PATTERN, runConfigSchema, type RunConfig } from './run-settings.js';

/** 2: one entry per arm in training (two arms may train at once); 1 (read only): one `current` arm. */
export const CHECKPOINT_VERSION = 2;

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

/** Where one arm's float32 state (weights, Adam slots, Adam's β-powers) lies in its `.f32` object. */
export interface TensorSet {
  readonly key: string;
  readonly model: TensorSpec[];
  readonly optimizer: TensorSpec[];
  readonly optimizerProducts: TensorSpec[];
}

/** An arm in training: its progress and the tensors saved with it. */
export interface ArmCheckpoint {
  readonly progress: ArmProgress;
  readonly tensors: TensorSet;
}

export interface CheckpointState {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly runId: string;
  readonly config: RunConfig;
  readonly savedAt: string;
  /** Arms already trained and tested: their final metrics. */
  readonly completed: Record<ArmName, ArmMetrics>;
  /** Arms in training (none, one, or both when they train at once), each with its own tensors. */
  readonly inTraining: Record<ArmName, ArmCheckpoint>;
}

/** Version 1, written before arms could train at once: one arm in training, its tensors beside it. */
export interface CheckpointStateV1 {
  readonly version: 1;
  readonly runId: string;
  readonly config: RunConfig;
  readonly savedAt: string;
  readonly completed: Record<ArmName, ArmMetrics>;
  readonly current: ArmProgress | null;
  readonly tensors: TensorSet | null;
}

const count = z.number().int().nonnegative();
const tensorSpecSchema = z.object({ name: z.string(), shape: z.array(count), offset: count });
const progressSchema = z.object({
  arm: z.string().regex(METHOD_NAME_PATTERN),
  epoch: count,
  partial: z.object({ steps: count, lossSum: z.number(), correct: count, seen: count, seconds: z.number() }),
  history: z.array(epochSchema),
  trainSeconds: z.number(),
  trainImages: count,
});
const tensorSetSchema = z.object({
  key: z.string().min(1),
  model: z.array(tensorSpecSchema),
  optimizer: z.array(tensorSpecSchema),
  optimizerProducts: z.array(tensorSpecSchema),
});
const armCheckpointSchema = z.object({ progress: progressSchema, tensors: tensorSetSchema });

export const checkpointStateSchema: z.ZodType<CheckpointState> = z.object({
  version: z.literal(CHECKPOINT_VERSION),
  runId: z.string(),
  config: runConfigSchema,
  savedAt: z.string(),
  completed: armsSchema,
  inTraining: z.record(z.string().regex(METHOD_NAME_PATTERN), armCheckpointSchema),
});

export const checkpointStateV1Schema: z.ZodType<CheckpointStateV1> = z.object({
  version: z.literal(1),
  runId: z.string(),
  config: runConfigSchema,
  savedAt: z.string(),
  completed: armsSchema,
  current: progressSchema.nullable(),
  tensors: tensorSetSchema.nullable(),
});
