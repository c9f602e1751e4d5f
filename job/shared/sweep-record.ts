/**
 * `sweeps/<sweep-id>/sweep.json`: a sweep's plan, written by `mixup sweep` before anything runs and
 * read by `mixup results`. The schema is the type, so writer and reader cannot disagree.
 */
import { z } from 'zod';

import { alphaSchema } from './alpha.js';
import { gridJobs, gridPoint, gridRunId } from './grid.js';
import { MAX_SEED, METHOD_NAME_PATTERN } from './run-settings.js';
import { DEFAULT_QUEUE, QUEUES } from './stack.js';

/**
 * 3: one run per arm job over methods × α × seeds, the baselines shared by every method and α (`gridJobs`);
 * 2 (read only): the same for MixUp alone, without methods; 1 (read only): one run of both arms per (α, seed).
 */
export const SWEEP_VERSION = 3;
export const SWEEP_VERSIONS = 'a version 1, 2 or 3 sweep record';
export const EXECUTORS = ['batch', 'local'] as const;
export type Executor = (typeof EXECUTORS)[number];

const count = z.number().int().nonnegative();

const seed = count.max(MAX_SEED);

export const sweepRunSchema = z.object({
  index: count,
  alpha: alphaSchema,
  seed,
  runId: z.string().min(1),
  /** `baseline` or the method's arm; absent in version 1, whose runs trained both arms. */
  arms: z.string().regex(METHOD_NAME_PATTERN).default('both'),
  /** The arm's augmentation (`none` for a baseline); absent before version 3 (MixUp's sweeps). */
  method: z.string().regex(METHOD_NAME_PATTERN).optional(),
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
  version: z.union([z.literal(1), z.literal(2), z.literal(SWEEP_VERSION)]),
  sweepId: z.string().min(1),
  createdAt: z.string(),
  executor: z.enum(EXECUTORS),
  grid: z.object({
    /** Version 3: the methods compared with the baseline, in the order given. */
    methods: z.array(z.string().regex(METHOD_NAME_PATTERN)).min(1).optional(),
    alphas: z.array(alphaSchema),
    seeds: z.array(seed),
    size: count,
    order: z.string(),
  }),
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
  const { alphas, seeds, size, methods } = record.grid;
  if ((record.version === SWEEP_VERSION) !== (methods !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['grid', 'methods'], message: record.version === SWEEP_VERSION ? 'is required in version 3' : 'exists only from version 3' });
    return;
  }
  const lists: [string, readonly (string | number)[]][] = [['methods', methods ?? []], ['alphas', alphas], ['seeds', seeds]];
  for (const [name, values] of lists) {
    const repeated = values.find((value, i) => values.indexOf(value) !== i);
    if (repeated !== undefined) ctx.addIssue({ code: 'custom', path: ['grid', name], message: `repeats ${repeated}; each value may appear once` });
  }
  // Version 1: one run of both arms per grid point; 2 and 3: one run per arm job (`gridJobs`), over methods in 3.
  const expected = record.version === 1
    ? Array.from({ length: alphas.length * seeds.length }, (_, index) => {
        const point = gridPoint(index, alphas, seeds);
        return { ...point, runId: gridRunId(point.alpha, point.seed), arms: 'both' as const };
      })
    : gridJobs(alphas, seeds, methods);
  const v1 = record.version === 1;
  if (size !== expected.length) {
    const what = v1 ? `${alphas.length} α × ${seeds.length} seeds = ${expected.length}` : `the sweep has ${expected.length} arm jobs`;
    ctx.addIssue({ code: 'custom', path: ['grid', 'size'], message: `is ${size}, but ${what}` });
  }
  if (record.runs.length !== expected.length) {
    ctx.addIssue({ code: 'custom', path: ['runs'], message: `lists ${record.runs.length} runs; the ${v1 ? 'grid' : 'sweep'} has ${expected.length}` });
    return;
  }
  record.runs.forEach((run, index) => {
    const job = expected[index]!;
    const method = 'method' in job && methods ? job.method : undefined;
    if (run.index !== index || run.alpha !== job.alpha || run.seed !== job.seed || run.runId !== job.runId || run.arms !== job.arms || run.method !== method) {
      ctx.addIssue({
        code: 'custom',
        path: ['runs', index],
        message: v1
          ? `names run ${JSON.stringify(run.runId)} (index ${run.index}, α = ${run.alpha}, seed = ${run.seed}); grid point ${index} is ${job.runId}`
          : `names run ${JSON.stringify(run.runId)} (index ${run.index}, α = ${run.alpha}, seed = ${run.seed}, arms ${run.arms}); job ${index} is ${job.runId} (${job.arms})`,
      });
    }
  });
});

export type SweepRun = z.infer<typeof sweepRunSchema>;
export type SweepRecord = z.infer<typeof sweepRecordSchema>;
