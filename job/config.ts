import { randomBytes } from 'node:crypto';

import { z } from 'zod';

import { ARMS, BACKENDS, PARALLEL_ARMS, type RunConfig } from './shared/metrics.js';
import { UsageError } from './errors.js';
import { NATIVE_CONV_ENV, nativeConvSettingProblem } from './backend/native-conv.js';
import { alphaTextSchema } from './shared/alpha.js';
import { gridPointFromEnv, MAX_SEED } from './shared/grid.js';
import { DEFAULT_VAL_SAMPLES } from './shared/fashion-mnist.js';

export const DEFAULT_ALPHA = 0.2;
export const DEFAULT_EPOCHS = 10;
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_SEED = 42;
export const DEFAULT_OUT = './runs';
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const integer = (min: number, rule: string) =>
  z.string().trim().regex(/^[+-]?\d+$/, 'must be a whole number written in digits, such as 1000').transform(Number).pipe(z.number().min(min, rule).max(Number.MAX_SAFE_INTEGER, 'is too large'));

/** Every `mixup run` setting: its flag, its environment variable, its default and its rule. */
export const RUN_OPTIONS = {
  alpha: {
    flag: '--alpha',
    help: 'Beta(α, α) concentration of the mixing weights; 0 disables mixing in the mixup arm',
    default: String(DEFAULT_ALPHA),
    // The same rule as a sweep's --alphas and sweep.json: one home, job/shared/alpha.ts.
    schema: alphaTextSchema,
  },
  epochs: { flag: '--epochs', help: 'training epochs per arm', default: String(DEFAULT_EPOCHS), schema: integer(1, 'must be ≥ 1') },
  batchSize: { flag: '--batch-size', help: 'images per training step', default: String(DEFAULT_BATCH_SIZE), schema: integer(1, 'must be ≥ 1') },
  seed: { flag: '--seed', help: 'seed for initial weights, shuffling, mixing and dropout', default: String(DEFAULT_SEED), schema: integer(0, 'must be ≥ 0').pipe(z.number().max(MAX_SEED, 'must be < 2^31')) },
  valSamples: { flag: '--val-samples', help: 'first N training images held out for validation', default: String(DEFAULT_VAL_SAMPLES), schema: integer(1, 'must be ≥ 1') },
  trainLimit: { flag: '--train-limit', help: 'train on the first N of the remaining images (default: all)', default: undefined, schema: integer(1, 'must be ≥ 1') },
  data: { flag: '--data', help: 'Fashion-MNIST location: a directory, s3://bucket/prefix or https:// base URL (default: $FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist, else download)', default: undefined, schema: z.string().trim().min(1, 'must not be empty') },
  out: { flag: '--out', help: 'where runs are written: a directory or s3://bucket/prefix', default: DEFAULT_OUT, schema: z.string().trim().min(1, 'must not be empty') },
  runId: { flag: '--run-id', help: 'run directory name; a run with the same id resumes (default: from AWS_BATCH_JOB_ID, else generated)', default: undefined, schema: z.string().regex(RUN_ID_PATTERN, 'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit') },
  backend: { flag: '--backend', help: `compute backend: ${BACKENDS.join('|')}`, default: 'auto', schema: z.enum(BACKENDS, { error: `must be one of ${BACKENDS.join(', ')}` }) },
  arms: { flag: '--arms', help: `which arms to train: ${ARMS.join('|')}`, default: 'both', schema: z.enum(ARMS, { error: `must be one of ${ARMS.join(', ')}` }) },
  parallelArms: {
    flag: '--parallel-arms',
    help: `train both arms at once, one worker thread each: ${PARALLEL_ARMS.join('|')} (auto: with ≥ 2 cores, not on tensorflow); the numbers are the same either way`,
    default: 'auto',
    schema: z.enum(PARALLEL_ARMS, { error: `must be one of ${PARALLEL_ARMS.join(', ')}` }),
  },
} as const;

export type RunOptionName = keyof typeof RUN_OPTIONS;
export type RawRunFlags = Partial<Record<RunOptionName, string | number | undefined>>;

/** `--batch-size` → `MIXUP_BATCH_SIZE`. */
export function envName(name: RunOptionName): string {
  return `MIXUP_${RUN_OPTIONS[name].flag.slice(2).replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Flags beat `MIXUP_*` variables, which beat defaults. Every problem is collected, so a user
 * fixes them in one go; the message names the flag, where the value came from and the rule.
 */
export function resolveRunConfig(
  flags: RawRunFlags,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): RunConfig {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of Object.keys(RUN_OPTIONS) as RunOptionName[]) {
    const option = RUN_OPTIONS[name];
    const fromFlag = flags[name];
    const fromEnv = env[envName(name)];
    const raw = fromFlag !== undefined ? String(fromFlag) : fromEnv !== undefined && fromEnv !== '' ? fromEnv : option.default;
    if (raw === undefined) continue;
    const parsed = (option.schema as z.ZodType).safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      const source = fromFlag !== undefined ? `${option.flag} ${JSON.stringify(String(fromFlag))}` : `${option.flag} (from ${envName(name)}=${JSON.stringify(fromEnv)})`;
      problems.push(`${source}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    }
  }
  // An environment-only setting (it changes speed, never a result), checked with the rest.
  const nativeProblem = nativeConvSettingProblem(env[NATIVE_CONV_ENV]);
  if (nativeProblem !== null) problems.push(nativeProblem);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const config = values as Omit<RunConfig, 'runId' | 'trainLimit' | 'data'> & Partial<RunConfig>;
  // A sweep child (AWS Batch array job) finds its own α and seed from the grid and its index.
  const point = gridPointFromEnv(env);
  const alpha = point && flags.alpha === undefined ? point.alpha : config.alpha;
  const seed = point && flags.seed === undefined ? point.seed : config.seed;
  // A sweep with shared baselines also gives each child its arm.
  const arms = point?.arms && flags.arms === undefined ? point.arms : config.arms;
  return {
    alpha,
    epochs: config.epochs,
    batchSize: config.batchSize,
    seed,
    valSamples: config.valSamples,
    trainLimit: config.trainLimit ?? null,
    data: config.data ?? '',
    out: config.out,
    runId: config.runId ?? point?.runId ?? defaultRunId(alpha, seed, env, now),
    backend: config.backend,
    arms,
    parallelArms: config.parallelArms,
  };
}

/**
 * Under AWS Batch the id must survive retries of one job (so a retry resumes), and the job id
 * does: array children are `<parent>:<index>`, hence the replacement of ':'.
 */
export function defaultRunId(alpha: number, seed: number, env: NodeJS.ProcessEnv, now: Date): string {
  const jobId = env.AWS_BATCH_JOB_ID;
  if (jobId) {
    const runId = jobId.replace(/[^A-Za-z0-9._-]/g, '-');
    // The same rule as --run-id: '..', '.' or an over-long id would put the run outside --out or fail on write.
    if (!RUN_ID_PATTERN.test(runId)) {
      throw new UsageError(
        `AWS_BATCH_JOB_ID ${JSON.stringify(jobId.length > 60 ? `${jobId.slice(0, 60)}…` : jobId)} cannot name the run: ` +
          `a run id must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit (':' becomes '-'); set --run-id`,
      );
    }
    return runId;
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  return `${stamp}-a${alpha}-s${seed}-${randomBytes(2).toString('hex')}`;
}

export function armsToTrain(arms: RunConfig['arms']): ('mixup' | 'baseline')[] {
  return arms === 'both' ? ['mixup', 'baseline'] : [arms];
}
