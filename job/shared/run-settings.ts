/**
 * Every `mixup run` setting, once: its flag (and so its `MIXUP_*` variable), its help, its default,
 * the rule its text must pass, how metrics.json and a checkpoint store it, whether it is part of a
 * run's identity, and what a sweep does with it. The run's flags and variables (job/config.ts),
 * `RunConfig` and its schema, the run identity (run.json), the checkpoint's identity check and the
 * sweep's pass-through are all read from this table, so a new setting is one new entry here; an
 * entry that leaves out one of these answers does not type-check.
 */
import { z } from 'zod';

import { alphaSchema, alphaTextSchema } from './alpha.js';
import { DEFAULT_VAL_SAMPLES } from './fashion-mnist.js';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
/** Whether a run trains its two arms at once (worker threads); it changes how fast, never what is computed. */
export const PARALLEL_ARMS = ['auto', 'on', 'off'] as const;
/** `--arms`: both arms, or one of them by its arm name (`baseline`, or the method's name). */
export const BOTH_ARMS = 'both';
/** The arm trained without augmentation (the `none` augmentation); the other arm is named by its method. */
export const BASELINE_ARM = 'baseline';
/** The augmentation of the baseline arm. */
export const NO_AUGMENTATION = 'none';
/** The augmentation `mixup run` compares with the baseline when `--method` is not given. */
export const DEFAULT_METHOD = 'mixup';
/** `mixup run --seed` takes 31-bit seeds. */
export const MAX_SEED = 2 ** 31 - 1;
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** An augmentation's name: lower-case words joined by '-' (it becomes part of run ids and file names). */
export const METHOD_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export const DEFAULT_ALPHA = 0.2;
export const DEFAULT_EPOCHS = 10;
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_SEED = 42;
export const DEFAULT_OUT = './runs';

/**
 * How a sweep treats a setting: `forwarded` to every child as its `MIXUP_*` variable (the sweep takes the
 * same flag); `grid`: each child's own, from its place in the grid (α, method, seed, arm, run id); `sweep`:
 * the sweep sets it from its own options (`--results` → `out`, `--data`).
 */
export type SweepRole = 'forwarded' | 'grid' | 'sweep';

export interface RunSetting<T> {
  /** `--batch-size`; the variable is `MIXUP_BATCH_SIZE` (`envName`). */
  readonly flag: `--${string}`;
  readonly help: string;
  /** As a user would type it; undefined: no default (`unset` applies, or the job works it out). */
  readonly default: string | undefined;
  /** The value of a setting given neither a flag, a variable nor a default. */
  readonly unset?: T;
  /** A flag's or variable's text to the value; its messages name the rule. */
  readonly parse: z.ZodType<T, string>;
  /** The value as metrics.json, run.json and a checkpoint store it; a `.default()` reads files written before the setting existed. */
  readonly stored: z.ZodType<T>;
  /**
   * Whether it changes what a run computes: run.json and a checkpoint record it, and a run id cannot be
   * reused with another value. `resolved`: compared as the run resolved it (the data location; the
   * backend that ran, not 'auto').
   */
  readonly identity: boolean | 'resolved';
  readonly sweep: SweepRole;
}

const integer = (min: number, rule: string) =>
  z.string().trim().regex(/^[+-]?\d+$/, 'must be a whole number written in digits, such as 1000').transform(Number).pipe(z.number().min(min, rule).max(Number.MAX_SAFE_INTEGER, 'is too large'));
const text = () => z.string().trim().min(1, 'must not be empty');
const name = (what: string) => z.string().trim().regex(METHOD_NAME_PATTERN, `must be ${what}: lower-case letters, digits and '-'`);
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });

export const RUN_SETTINGS = {
  method: {
    flag: '--method',
    // Which methods exist is the augmentations' registry's answer (job/augmentation-registry.ts): job/config.ts checks it.
    help: 'the augmentation the augmented arm trains with',
    default: DEFAULT_METHOD,
    parse: name('an augmentation'),
    // Absent in files written when MixUp was the only method.
    stored: z.string().regex(METHOD_NAME_PATTERN).default(DEFAULT_METHOD),
    identity: true,
    sweep: 'grid',
  },
  alpha: {
    flag: '--alpha',
    help: 'Beta(α, α) concentration of the mixing weights; 0 disables mixing in the augmented arm',
    default: String(DEFAULT_ALPHA),
    // The same rule as a sweep's --alphas and sweep.json: one home, job/shared/alpha.ts.
    parse: alphaTextSchema,
    stored: alphaSchema,
    identity: true,
    sweep: 'grid',
  },
  epochs: { flag: '--epochs', help: 'training epochs per arm', default: String(DEFAULT_EPOCHS), parse: integer(1, 'must be ≥ 1'), stored: z.number().int(), identity: true, sweep: 'forwarded' },
  batchSize: { flag: '--batch-size', help: 'images per training step', default: String(DEFAULT_BATCH_SIZE), parse: integer(1, 'must be ≥ 1'), stored: z.number().int(), identity: true, sweep: 'forwarded' },
  seed: {
    flag: '--seed',
    help: 'seed for initial weights, shuffling, mixing and dropout',
    default: String(DEFAULT_SEED),
    parse: integer(0, 'must be ≥ 0').pipe(z.number().max(MAX_SEED, 'must be < 2^31')),
    stored: z.number().int(),
    identity: true,
    sweep: 'grid',
  },
  valSamples: { flag: '--val-samples', help: 'first N training images held out for validation', default: String(DEFAULT_VAL_SAMPLES), parse: integer(1, 'must be ≥ 1'), stored: z.number().int(), identity: true, sweep: 'forwarded' },
  trainLimit: {
    flag: '--train-limit',
    help: 'train on the first N of the remaining images (default: all)',
    default: undefined,
    unset: null,
    parse: integer(1, 'must be ≥ 1') as z.ZodType<number | null, string>,
    stored: z.number().int().nullable(),
    identity: true,
    sweep: 'forwarded',
  },
  data: {
    flag: '--data',
    help: 'Fashion-MNIST location: a directory, s3://bucket/prefix or https:// base URL (default: $FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist, else download)',
    default: undefined,
    // Left to the data module, which resolves it (and run.json records where it resolved to).
    unset: '',
    parse: text(),
    stored: z.string(),
    identity: 'resolved',
    sweep: 'sweep',
  },
  out: { flag: '--out', help: 'where runs are written: a directory or s3://bucket/prefix', default: DEFAULT_OUT, parse: text(), stored: z.string(), identity: false, sweep: 'sweep' },
  runId: {
    flag: '--run-id',
    help: 'run directory name; a run with the same id resumes (default: from AWS_BATCH_JOB_ID, else generated)',
    default: undefined,
    // Worked out by the job (job/config.ts): a sweep child's grid id, the Batch job id, or a new one.
    unset: '',
    parse: z.string().regex(RUN_ID_PATTERN, 'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    stored: z.string(),
    identity: false,
    sweep: 'grid',
  },
  backend: { flag: '--backend', help: `compute backend: ${BACKENDS.join('|')}`, default: 'auto', parse: oneOf(BACKENDS), stored: z.enum(BACKENDS), identity: 'resolved', sweep: 'forwarded' },
  arms: {
    flag: '--arms',
    help: `which arms to train: ${BOTH_ARMS}, ${BASELINE_ARM}, or the augmented arm by its method's name (e.g. ${DEFAULT_METHOD})`,
    default: BOTH_ARMS,
    parse: name(`${BOTH_ARMS}, ${BASELINE_ARM} or a method`),
    stored: z.string().regex(METHOD_NAME_PATTERN),
    identity: true,
    sweep: 'grid',
  },
  parallelArms: {
    flag: '--parallel-arms',
    help: `train both arms at once, one worker thread each: ${PARALLEL_ARMS.join('|')} (auto: with ≥ 2 cores, not on tensorflow); the numbers are the same either way`,
    default: 'auto',
    parse: oneOf(PARALLEL_ARMS),
    // Absent in files written before the setting existed.
    stored: z.enum(PARALLEL_ARMS).default('auto'),
    identity: false,
    sweep: 'forwarded',
  },
} as const satisfies { readonly [name: string]: RunSetting<unknown> };

export type RunSettingName = keyof typeof RUN_SETTINGS;
type ValueOf<K extends RunSettingName> = z.output<(typeof RUN_SETTINGS)[K]['stored']>;

/** A run's settings as resolved: what metrics.json's `config` and a checkpoint's `config` hold. */
export type RunConfig = { readonly [K in RunSettingName]: ValueOf<K> };

/** The names of the settings with one property; typed, so a list built from it names each setting with that property. */
type NamesWhere<P extends 'identity' | 'sweep', V> = {
  [K in RunSettingName]: (typeof RUN_SETTINGS)[K] extends { readonly [Q in P]: V } ? K : never;
}[RunSettingName];

const names = Object.keys(RUN_SETTINGS) as RunSettingName[];
const where = <K extends RunSettingName>(test: (setting: RunSetting<unknown>) => boolean) =>
  names.filter((key) => test(RUN_SETTINGS[key])) as K[];

export type ForwardedSetting = NamesWhere<'sweep', 'forwarded'>;
/** The settings a sweep passes to every child as `MIXUP_*` variables (and takes as its own flags). */
export const FORWARDED_SETTINGS: readonly ForwardedSetting[] = where<ForwardedSetting>((s) => s.sweep === 'forwarded');

export type IdentitySetting = NamesWhere<'identity', true>;
/** The settings that change what a run computes, compared as given (the checkpoint's check and run.json's settings). */
export const IDENTITY_SETTINGS: readonly IdentitySetting[] = where<IdentitySetting>((s) => s.identity === true);

/** metrics.json's and a checkpoint's `config`. */
export const runConfigSchema = z.object(
  Object.fromEntries(names.map((key) => [key, RUN_SETTINGS[key].stored])) as { [K in RunSettingName]: (typeof RUN_SETTINGS)[K]['stored'] },
) as unknown as z.ZodType<RunConfig>;

/** `--batch-size` → `MIXUP_BATCH_SIZE`. */
export function envName(name: RunSettingName): string {
  return `MIXUP_${RUN_SETTINGS[name].flag.slice(2).replace(/-/g, '_').toUpperCase()}`;
}

/** The arms a run trains, in order: the augmented arm (named by its method), then the baseline. */
export function armsToTrain(config: Pick<RunConfig, 'arms' | 'method'>): string[] {
  return config.arms === BOTH_ARMS ? [config.method, BASELINE_ARM] : [config.arms];
}

/** Arm names in the order pictures and files list them: the augmented arms by name, then the baseline. */
export function inArmOrder(arms: Iterable<string>): string[] {
  const names = [...new Set(arms)];
  return [...names.filter((arm) => arm !== BASELINE_ARM).sort(), ...names.filter((arm) => arm === BASELINE_ARM)];
}
