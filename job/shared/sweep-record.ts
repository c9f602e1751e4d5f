/**
 * `sweeps/<sweep-id>/sweep.json`: a sweep's plan, written by `mixup sweep` before anything runs and
 * read by `mixup results`. The schema is the type, so writer and reader cannot disagree.
 */
import { z } from 'zod';

import { DEFAULT_QUEUE, QUEUES } from './stack.js';

export const SWEEP_VERSION = 1;
export const EXECUTORS = ['batch', 'local'] as const;
export type Executor = (typeof EXECUTORS)[number];

const count = z.number().int().nonnegative();

export const sweepRunSchema = z.object({
  index: count,
  alpha: z.number(),
  seed: count,
  runId: z.string().min(1),
});

export const batchSubmissionSchema = z.object({
  jobName: z.string(),
  jobQueue: z.string(),
  jobDefinition: z.string(),
  /** Which of the stack's queues; sweeps recorded before the CPU queue existed ran on the GPU one. */
  queue: z.enum(QUEUES).default(DEFAULT_QUEUE),
  /** null: a one-point grid, submitted as a plain job (Batch arrays need ≥ 2 children). */
  arraySize: z.number().int().positive().nullable(),
  jobId: z.string().nullable(),
  jobArn: z.string().nullable(),
});

export const sweepRecordSchema = z.object({
  version: z.literal(SWEEP_VERSION),
  sweepId: z.string().min(1),
  createdAt: z.string(),
  executor: z.enum(EXECUTORS),
  grid: z.object({ alphas: z.array(z.number()), seeds: z.array(count), size: count, order: z.string() }),
  runs: z.array(sweepRunSchema),
  /** The `mixup run` settings given; absent ones take the job's defaults. */
  settings: z.record(z.string(), z.union([z.string(), z.number()])),
  /** The variables every child gets; the grid variables select its point. */
  environment: z.record(z.string(), z.string()),
  results: z.string(),
  /** Where the runs land: `<results>/sweeps/<id>/runs`. */
  runsUri: z.string(),
  data: z.string().nullable(),
  batch: batchSubmissionSchema.nullable(),
  local: z.object({ concurrency: z.number().int().positive() }).nullable(),
});

export type SweepRun = z.infer<typeof sweepRunSchema>;
export type SweepRecord = z.infer<typeof sweepRecordSchema>;
