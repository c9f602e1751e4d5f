/**
 * A sweep's grid: every (α, seed) pair, numbered so that an AWS Batch array child can find its own
 * point from `AWS_BATCH_JOB_ARRAY_INDEX` alone.
 *
 * Index order: α major, seed minor — `index = alphaIndex × seeds.length + seedIndex`.
 * For α = [0, 0.2] and seeds = [1, 2, 3]: 0 → (0, 1), 1 → (0, 2), 2 → (0, 3), 3 → (0.2, 1), …
 */
import { UsageError } from '../errors.js';
import { alphaProblem, parseDecimal, roundsToZero } from './alpha.js';
import { BASELINE_ARM, DEFAULT_METHOD, MAX_SEED, METHOD_NAME_PATTERN, NO_AUGMENTATION } from './run-settings.js';

/** AWS Batch's largest array job. */
export const MAX_ARRAY_SIZE = 10_000;
/** AWS Batch refuses arrays of one child; such a grid is submitted as a plain job. */
export const MIN_ARRAY_SIZE = 2;


/** The environment variables a sweep child reads. */
export const GRID_ENV = {
  alphas: 'MIXUP_GRID_ALPHAS',
  seeds: 'MIXUP_GRID_SEEDS',
  index: 'AWS_BATCH_JOB_ARRAY_INDEX',
  /** `<array job id>:<index>` for an array child; the index's fallback source (see `gridPointFromEnv`). */
  jobId: 'AWS_BATCH_JOB_ID',
  /** `shared-baselines`: the index names an arm job (`gridJob`); unset: an (α, seed) point of both arms. */
  layout: 'MIXUP_GRID_LAYOUT',
  /** The sweep's methods, with shared baselines; unset in sweeps recorded when MixUp was the only method. */
  methods: 'MIXUP_GRID_METHODS',
} as const;

/** The sweep layout where each seed's baseline is trained once and read by every α. */
export const SHARED_BASELINES = 'shared-baselines';

export interface GridPoint {
  readonly index: number;
  readonly alpha: number;
  readonly seed: number;
}

/** Refuses a grid a sweep cannot run, naming the rule; nothing has been written when this throws. */
export function validateGrid(alphas: readonly number[], seeds: readonly number[]): void {
  const problems: string[] = [];
  if (alphas.length === 0) problems.push("'alphas' is empty; give at least one α, e.g. --alphas 0,0.2");
  if (seeds.length === 0) problems.push("'seeds' is empty; give at least one seed, e.g. --seeds 3");
  for (const alpha of alphas) {
    const problem = alphaProblem(alpha);
    if (problem) problems.push(`'alphas' contains ${alpha}; ${Number.isFinite(alpha) ? 'α' : 'every α'} ${problem}`);
  }
  for (const seed of seeds) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
      problems.push(`'seeds' contains ${seed}; every seed must be a whole number from 0 to ${MAX_SEED}`);
    }
  }
  for (const [name, values] of [['alphas', alphas], ['seeds', seeds]] as const) {
    const dupes = duplicates(values);
    if (dupes.length > 0) problems.push(`'${name}' repeats ${dupes.join(', ')}; each value may appear once`);
  }
  const size = alphas.length * seeds.length;
  if (size > MAX_ARRAY_SIZE) {
    problems.push(
      `the grid has ${alphas.length} α × ${seeds.length} seeds = ${size} runs; ` +
        `AWS Batch arrays hold at most ${MAX_ARRAY_SIZE}`,
    );
  }
  if (problems.length > 0) throw new UsageError(`bad sweep grid: ${problems.join('; ')}`);
}

export function gridSize(alphas: readonly number[], seeds: readonly number[]): number {
  return alphas.length * seeds.length;
}

/** The point a child with this array index runs. */
export function gridPoint(index: number, alphas: readonly number[], seeds: readonly number[]): GridPoint {
  const size = gridSize(alphas, seeds);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new UsageError(
      `${GRID_ENV.index} = ${index} is outside the grid; it must be a whole number from 0 to ${size - 1}`,
    );
  }
  const alphaIndex = Math.floor(index / seeds.length);
  const seedIndex = index % seeds.length;
  return { index, alpha: alphas[alphaIndex]!, seed: seeds[seedIndex]! };
}

/** The inverse of `gridPoint`. */
export function gridIndex(alpha: number, seed: number, alphas: readonly number[], seeds: readonly number[]): number {
  const alphaIndex = alphas.indexOf(alpha);
  const seedIndex = seeds.indexOf(seed);
  if (alphaIndex < 0 || seedIndex < 0) {
    throw new UsageError(`(α = ${alpha}, seed = ${seed}) is not a point of the grid α = [${alphas}], seeds = [${seeds}]`);
  }
  return alphaIndex * seeds.length + seedIndex;
}

export function gridPoints(alphas: readonly number[], seeds: readonly number[]): GridPoint[] {
  return Array.from({ length: gridSize(alphas, seeds) }, (_, index) => gridPoint(index, alphas, seeds));
}

/**
 * One arm training of a sweep with shared baselines. With common random numbers the baseline of seed s
 * is the same run for every method and α, and a method's arm at α = 0 is that baseline, so a sweep trains
 * each seed's baseline once and one arm per (method, α > 0, seed).
 *
 * Index order: the baselines first, one per seed (index = seedIndex), then the arms, method major, then
 * α over the α > 0, then seed (index = seeds + (methodIndex × α's + alphaIndex') × seeds + seedIndex).
 * For methods = [mixup, cutmix], α = [0, 0.2], seeds = [1, 2]: 0 → baseline 1, 1 → baseline 2,
 * 2 → (mixup, 0.2, 1), 3 → (mixup, 0.2, 2), 4 → (cutmix, 0.2, 1), 5 → (cutmix, 0.2, 2).
 *
 * `methods` absent: a sweep recorded when MixUp was the only method (sweep.json version 2), whose run
 * ids name no method (`alpha-0.2_seed-1`) and whose baselines ran with the default method.
 */
export interface GridJob {
  readonly index: number;
  /** The augmentation of the arm: the method, or `none` for a baseline (the default method in old sweeps). */
  readonly method: string;
  /** 0 for a baseline: its numbers do not depend on α. */
  readonly alpha: number;
  readonly seed: number;
  /** `baseline`, or the method's arm (named by the method). */
  readonly arms: string;
  readonly runId: string;
}

export function gridJobs(alphas: readonly number[], seeds: readonly number[], methods?: readonly string[]): GridJob[] {
  const baselineMethod = methods ? NO_AUGMENTATION : DEFAULT_METHOD;
  const baselines = seeds.map((seed, index) => ({ index, method: baselineMethod, alpha: 0, seed, arms: BASELINE_ARM, runId: baselineRunId(seed) }));
  const arms = (methods ?? [DEFAULT_METHOD]).flatMap((method) =>
    alphas.filter((alpha) => alpha > 0).flatMap((alpha) => seeds.map((seed) => ({ method, alpha, seed }))),
  );
  return [
    ...baselines,
    ...arms.map(({ method, alpha, seed }, i) => ({
      index: seeds.length + i,
      method,
      alpha,
      seed,
      arms: method,
      runId: methods ? armRunId(method, alpha, seed) : gridRunId(alpha, seed),
    })),
  ];
}

/** The arm job a child with this array index runs. */
export function gridJob(index: number, alphas: readonly number[], seeds: readonly number[], methods?: readonly string[]): GridJob {
  const jobs = gridJobs(alphas, seeds, methods);
  if (!Number.isSafeInteger(index) || index < 0 || index >= jobs.length) {
    throw new UsageError(`${GRID_ENV.index} = ${index} is outside the sweep's ${jobs.length} arm jobs; it must be a whole number from 0 to ${jobs.length - 1}`);
  }
  return jobs[index]!;
}

/** The run id of a seed's shared baseline, e.g. `baseline_seed-1`. */
export function baselineRunId(seed: number): string {
  return `baseline_seed-${seed}`;
}

/** The run id of one grid point, e.g. `alpha-0.2_seed-1`; `String(α)` is the shortest exact form. */
export function gridRunId(alpha: number, seed: number): string {
  return `alpha-${String(alpha)}_seed-${seed}`;
}

/** The run id of one method's arm in a sweep of methods, e.g. `cutmix_alpha-0.2_seed-1`. */
export function armRunId(method: string, alpha: number, seed: number): string {
  return `${method}_${gridRunId(alpha, seed)}`;
}

const RUN_ID_PATTERN = /^(?:([a-z][a-z0-9-]*)_)?alpha-([0-9.e+-]+)_seed-(\d+)$/;

/** The (method, α, seed) a grid run id names (method null in ids that name none), or null for another run id. */
export function parseGridRunId(runId: string): { method: string | null; alpha: number; seed: number } | null {
  const match = RUN_ID_PATTERN.exec(runId);
  if (!match) return null;
  const alpha = Number(match[2]);
  const seed = Number(match[3]);
  return Number.isFinite(alpha) && Number.isSafeInteger(seed) ? { method: match[1] ?? null, alpha, seed } : null;
}

/**
 * Parses a comma list such as `0,0.1,0.2`; `flag` names the option or variable in messages.
 * Validation of the values themselves is `validateGrid`'s job.
 */
export function parseNumberList(flag: string, value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((part) => {
    // Decimal notation only, as `mixup run` takes it: Number() alone would read '0x10' as 16.
    const number = parseDecimal(part) ?? Number.NaN;
    if (!Number.isFinite(number)) {
      throw new UsageError(`${flag} = '${value}': '${part}' is not a number; give a comma list such as 0,0.1,0.2`);
    }
    const zero = roundsToZero(part);
    if (zero) throw new UsageError(`${flag} = '${value}': ${zero}`);
    return number;
  });
}

/** A comma list of method names, e.g. `mixup,cutmix`; whether each is an augmentation is the registry's question. */
export function parseMethodList(flag: string, value: string): string[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  const bad = parts.find((part) => !METHOD_NAME_PATTERN.test(part));
  if (bad !== undefined) throw new UsageError(`${flag} = '${value}': '${bad}' is not a method name; give a comma list such as mixup,cutmix`);
  return parts;
}

/** The methods of a sweep: at least one, none twice, and not `none` (every sweep trains the baselines). */
export function validateMethods(methods: readonly string[]): void {
  const problems: string[] = [];
  if (methods.length === 0) problems.push("'methods' is empty; give at least one, e.g. --methods mixup");
  if (methods.includes(NO_AUGMENTATION)) problems.push(`'methods' contains ${NO_AUGMENTATION}; the baselines are trained anyway, once per seed`);
  const repeated = methods.filter((method, i) => methods.indexOf(method) !== i);
  if (repeated.length > 0) problems.push(`'methods' repeats ${[...new Set(repeated)].join(', ')}; each may appear once`);
  if (problems.length > 0) throw new UsageError(`bad sweep grid: ${problems.join('; ')}`);
}

/** `--seeds 3` means seeds 1, 2, 3. */
export function seedRange(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * The grid point a sweep child runs, from its environment; null when the grid variables are unset.
 * A one-point grid runs as a plain Batch job, which has no array index: it is then point 0.
 */
export function gridPointFromEnv(env: NodeJS.ProcessEnv): (GridPoint & { runId: string; arms?: string; method?: string }) | null {
  const alphasText = env[GRID_ENV.alphas];
  const seedsText = env[GRID_ENV.seeds];
  if (alphasText === undefined && seedsText === undefined) return null;
  if (alphasText === undefined || seedsText === undefined) {
    const missing = alphasText === undefined ? GRID_ENV.alphas : GRID_ENV.seeds;
    throw new UsageError(`${missing} is unset; a sweep child needs both ${GRID_ENV.alphas} and ${GRID_ENV.seeds}`);
  }
  const alphas = parseNumberList(GRID_ENV.alphas, alphasText);
  const seeds = parseNumberList(GRID_ENV.seeds, seedsText);
  validateGrid(alphas, seeds);
  const layout = env[GRID_ENV.layout];
  if (layout !== undefined && layout !== '' && layout !== SHARED_BASELINES) {
    throw new UsageError(`${GRID_ENV.layout} = '${layout}' is unknown; it is '${SHARED_BASELINES}' or unset`);
  }
  const shared = layout === SHARED_BASELINES;
  const methodsText = env[GRID_ENV.methods];
  const methods = methodsText === undefined || methodsText === '' ? undefined : parseMethodList(GRID_ENV.methods, methodsText);
  if (methods && !shared) throw new UsageError(`${GRID_ENV.methods} is set, but a sweep of methods has shared baselines: ${GRID_ENV.layout} must be '${SHARED_BASELINES}'`);
  if (methods) validateMethods(methods);
  const size = shared ? gridJobs(alphas, seeds, methods).length : gridSize(alphas, seeds);
  const indexText = arrayIndexText(env);
  let index = 0;
  if (indexText !== undefined && indexText !== '') {
    if (!/^\d+$/.test(indexText.trim())) {
      throw new UsageError(`${GRID_ENV.index} = '${indexText}' is not a whole number ≥ 0`);
    }
    index = Number(indexText);
  } else if (size > 1) {
    throw new UsageError(`${GRID_ENV.index} is unset; a grid of more than one point runs as a Batch array job`);
  }
  if (shared) return gridJob(index, alphas, seeds, methods);
  const point = gridPoint(index, alphas, seeds);
  return { ...point, runId: gridRunId(point.alpha, point.seed) };
}

/**
 * The child's array index: `AWS_BATCH_JOB_ARRAY_INDEX`, else the suffix of `AWS_BATCH_JOB_ID`, which
 * AWS documents as `<array job id>:<index>` for array children (some Batch emulators, moto among them,
 * set only the id). A plain job's id has no `:`, so it still has no index.
 */
function arrayIndexText(env: NodeJS.ProcessEnv): string | undefined {
  const indexText = env[GRID_ENV.index];
  if (indexText !== undefined && indexText !== '') return indexText;
  const suffix = /^[^:]+:(\d+)$/.exec(env[GRID_ENV.jobId]?.trim() ?? '');
  return suffix ? suffix[1] : indexText;
}

function duplicates(values: readonly number[]): number[] {
  const seen = new Set<number>();
  const repeated = new Set<number>();
  for (const value of values) {
    if (seen.has(value)) repeated.add(value);
    seen.add(value);
  }
  return [...repeated];
}

/**
 * The array index of one Batch child as ListJobs reports it: `arrayProperties.index`, else the
 * `:<index>` suffix of its job id; NaN when neither says.
 */
export function arrayIndexOf(child: { readonly arrayProperties?: { readonly index?: number }; readonly jobId?: string }): number {
  return child.arrayProperties?.index ?? Number(child.jobId?.split(':').pop());
}
