/**
 * `sweeps/<sweep-id>/sweep.json`: a sweep's plan, written by `mixup sweep` before anything runs and
 * read by `mixup results`. The schema is the type, so writer and reader cannot disagree.
 */
import { z } from 'zod';

import { alphaSchema } from './alpha.js';
import { gridPoint, gridRunId, MAX_SEED } from './grid.js';

export const SWEEP_VERSION = 1;
export const EXECUTORS = ['batch', 'local'] as const;
export type Executor = (typeof EXECUTORS)[number];

const count = z.number().int().nonnegative();

const seed = count.max(MAX_SEED);

export const sweepRunSchema = z.object({
  index: count,
  alpha: alphaSchema,
  seed,
  runId: z.string().min(1),
});

export const batchSubmissionSchema = z.object({
  jobName: z.string(),
  jobQueue: z.string(),
  jobDefinition: z.string(),
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
  grid: z.object({ alphas: z.array(alphaSchema), seeds: z.array(seed), size: count, order: z.string() }),
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
}).superRefine((record, ctx) => {
  // The runs must be exactly the grid's points in index order: a run id is then a plain grid id
  // (never '../x' or 'a/b', which would read or write outside the sweep), and no α or seed repeats.
  const { alphas, seeds, size } = record.grid;
  for (const [name, values] of [['alphas', alphas], ['seeds', seeds]] as const) {
    const repeated = values.find((value, i) => values.indexOf(value) !== i);
    if (repeated !== undefined) ctx.addIssue({ code: 'custom', path: ['grid', name], message: `repeats ${repeated}; each value may appear once` });
  }
  if (size !== alphas.length * seeds.length) {
    ctx.addIssue({ code: 'custom', path: ['grid', 'size'], message: `is ${size}, but ${alphas.length} α × ${seeds.length} seeds = ${alphas.length * seeds.length}` });
  }
  if (record.runs.length !== alphas.length * seeds.length) {
    ctx.addIssue({ code: 'custom', path: ['runs'], message: `lists ${record.runs.length} runs; the grid has ${alphas.length * seeds.length}` });
    return;
  }
  record.runs.forEach((run, index) => {
    const point = gridPoint(index, alphas, seeds);
    const runId = gridRunId(point.alpha, point.seed);
    if (run.index !== index || run.alpha !== point.alpha || run.seed !== point.seed || run.runId !== runId) {
      ctx.addIssue({
        code: 'custom',
        path: ['runs', index],
        message: `names run ${JSON.stringify(run.runId)} (index ${run.index}, α = ${run.alpha}, seed = ${run.seed}); grid point ${index} is ${runId}`,
      });
    }
  });
});

export type SweepRun = z.infer<typeof sweepRunSchema>;
export type SweepRecord = z.infer<typeof sweepRecordSchema>;
