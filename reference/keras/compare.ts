/**
 * The test-accuracy distributions of the Keras example and of the job, side by side (docs/keras-parity.md):
 * per side and arm the mean and sample standard deviation over seeds; per arm a Welch test of Keras
 * against the job; per side the mixup − baseline difference, paired by seed (both arms of a seed start
 * from the same initial weights on either side).
 *
 *   node --import tsx reference/keras/compare.ts --keras keras.jsonl --ours <results dir> [--json]
 *
 * --keras: the JSON lines reference/keras/mixup_keras.py printed, one per seed. --ours: any directory
 * holding the job's runs (a sweep's `sweeps/<id>/runs`, or `mixup run --out`): every metrics.json below it
 * is read. Both sides must have trained the same epochs and α; a seed may only appear once per arm.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

import { parseStoredJson } from '../../job/shared/stored-json.js';
import { metricsSchema } from '../../job/shared/metrics.js';
import { confidenceInterval, mean, pairedDifferences, sampleSd, tCdf, tQuantile } from '../../job/stats.js';

/** The Keras example's arms; a run's arms of other methods (CutMix) are not compared with Keras. */
type ArmName = 'mixup' | 'baseline';
const ARMS: readonly ArmName[] = ['mixup', 'baseline'];

/** Test accuracy (a fraction) by arm, then by seed. */
export type Accuracies = Record<ArmName, Map<number, number>>;

export interface Side {
  readonly epochs: number;
  /** The mixup arms' α; null when there is no mixup arm. */
  readonly alpha: number | null;
  readonly accuracies: Accuracies;
}

const kerasLineSchema = z.object({
  seed: z.number().int(),
  epochs: z.number().int(),
  alpha: z.number(),
  arms: z.partialRecord(z.enum(['mixup', 'baseline']), z.object({ test: z.object({ accuracy: z.number().min(0).max(1) }) })),
});

function addSeed(side: { accuracies: Accuracies }, arm: ArmName, seed: number, accuracy: number, where: string): void {
  if (side.accuracies[arm].has(seed)) throw new Error(`${where}: seed ${seed} of the ${arm} arm appears twice`);
  side.accuracies[arm].set(seed, accuracy);
}

/** Every run must have trained the same epochs, and every mixup arm at the same α (a baseline has none). */
function sameSettings(side: { epochs?: number; alpha?: number }, epochs: number, alpha: number | null, where: string): void {
  if (side.epochs !== undefined && side.epochs !== epochs) throw new Error(`${where}: ${epochs} epochs, the others ${side.epochs}`);
  side.epochs = epochs;
  if (alpha === null) return;
  if (side.alpha !== undefined && side.alpha !== alpha) throw new Error(`${where}: mixup at α = ${alpha}, the others at α = ${side.alpha}`);
  side.alpha = alpha;
}

export async function readKeras(file: string): Promise<Side> {
  const side = { epochs: undefined as number | undefined, alpha: undefined as number | undefined, accuracies: { mixup: new Map(), baseline: new Map() } as Accuracies };
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  lines.forEach((line, i) => {
    const where = `${file} line ${i + 1}`;
    const run = parseStoredJson(where, line, kerasLineSchema, 'a result line of mixup_keras.py');
    sameSettings(side, run.epochs, run.arms.mixup ? run.alpha : null, where);
    for (const [arm, metrics] of Object.entries(run.arms) as [ArmName, { test: { accuracy: number } }][]) addSeed(side, arm, run.seed, metrics.test.accuracy, where);
  });
  if (side.epochs === undefined) throw new Error(`${file}: no results`);
  return { epochs: side.epochs, alpha: side.alpha ?? null, accuracies: side.accuracies };
}

async function metricsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name === 'metrics.json').map((e) => path.join(e.parentPath, e.name)).sort();
}

export async function readOurs(dir: string): Promise<Side> {
  const side = { epochs: undefined as number | undefined, alpha: undefined as number | undefined, accuracies: { mixup: new Map(), baseline: new Map() } as Accuracies };
  for (const file of await metricsFiles(dir)) {
    const metrics = parseStoredJson(file, await readFile(file, 'utf8'), metricsSchema, 'a metrics.json');
    const { config } = metrics;
    // A shared-baseline sweep's baseline runs record α = 0: only a mixup arm has an α.
    sameSettings(side, config.epochs, metrics.arms.mixup ? config.alpha : null, file);
    for (const arm of ARMS) {
      const result = metrics.arms[arm];
      if (result) addSeed(side, arm, config.seed, result.test.accuracy, file);
    }
  }
  if (side.epochs === undefined) throw new Error(`${dir}: no metrics.json below it`);
  return { epochs: side.epochs, alpha: side.alpha ?? null, accuracies: side.accuracies };
}

export interface Welch {
  readonly difference: number;
  readonly low: number;
  readonly high: number;
  readonly t: number;
  readonly df: number;
  readonly p: number;
}

/** Welch's unequal-variance t test of mean(a) − mean(b), with its 95 % interval. */
export function welch(a: readonly number[], b: readonly number[]): Welch {
  const [va, vb] = [sampleSd(a), sampleSd(b)].map((sd) => {
    if (sd === null) throw new RangeError('a Welch test needs at least two values per side');
    return sd ** 2;
  }) as [number, number];
  const [qa, qb] = [va / a.length, vb / b.length];
  const se = Math.sqrt(qa + qb);
  const difference = mean(a) - mean(b);
  const df = (qa + qb) ** 2 / (qa ** 2 / (a.length - 1) + qb ** 2 / (b.length - 1));
  const t = difference / se;
  const half = tQuantile(0.975, df) * se;
  return { difference, low: difference - half, high: difference + half, t, df, p: 2 * (1 - tCdf(Math.abs(t), df)) };
}

const pct = (x: number) => (100 * x).toFixed(2);
const signed = (x: number, digits: number) => `${x < 0 ? '−' : ''}${Math.abs(x).toFixed(digits)}`;
const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;

/** Mixup − baseline for the seeds that have both arms. */
function differences(acc: Accuracies): number[] {
  const seeds = [...acc.mixup.keys()].filter((s) => acc.baseline.has(s)).sort((x, y) => x - y);
  return pairedDifferences(seeds.map((s) => acc.mixup.get(s)!), seeds.map((s) => acc.baseline.get(s)!));
}

export function report(keras: Side, ours: Side): { markdown: string; json: unknown } {
  if (keras.epochs !== ours.epochs || (keras.alpha !== null && ours.alpha !== null && keras.alpha !== ours.alpha)) {
    throw new Error(`Keras trained ${keras.epochs} epochs at α = ${keras.alpha}, the job ${ours.epochs} at α = ${ours.alpha}`);
  }
  const rows: string[] = ['| arm | Keras: seeds, mean ± SD % | job: seeds, mean ± SD % | job − Keras (pp), 95 % CI | Welch t (df), p |', '| --- | --- | --- | --- | --- |'];
  const json: Record<string, unknown> = { epochs: keras.epochs, alpha: keras.alpha };
  for (const arm of ARMS) {
    const [k, o] = [[...keras.accuracies[arm].values()], [...ours.accuracies[arm].values()]];
    const w = welch(o, k);
    rows.push(
      `| ${arm} | ${k.length}: ${pct(mean(k))} ± ${pct(sampleSd(k)!)} | ${o.length}: ${pct(mean(o))} ± ${pct(sampleSd(o)!)} | ` +
        `${pp(w.difference)} (${pp(w.low)} to ${pp(w.high)}) | ${signed(w.t, 2)} (${w.df.toFixed(1)}), ${w.p.toFixed(2)} |`,
    );
    json[arm] = { keras: k, ours: o, welch: w };
  }
  rows.push('', '| side | seeds with both arms | mixup − baseline (pp), mean ± SD | 95 % CI (paired t) |', '| --- | --- | --- | --- |');
  const paired: Record<string, number[]> = {};
  for (const [name, side] of [['Keras', keras], ['job', ours]] as const) {
    const d = (paired[name] = differences(side.accuracies));
    const ci = confidenceInterval(d);
    rows.push(`| ${name} | ${d.length} | ${pp(ci.mean)} ± ${(100 * ci.sd!).toFixed(2)} | ${pp(ci.low!)} to ${pp(ci.high!)} |`);
    json[`${name === 'job' ? 'ours' : 'keras'}Difference`] = { values: d, ...ci };
  }
  // Whether mixup's effect itself differs between the two: Welch on the two sides' paired differences.
  const w = welch(paired['job']!, paired['Keras']!);
  rows.push('', `mixup − baseline, job − Keras: ${pp(w.difference)} pp (95 % CI ${pp(w.low)} to ${pp(w.high)}), Welch t ${signed(w.t, 2)} (${w.df.toFixed(1)} df), p ${w.p.toFixed(2)}`);
  json['differenceWelch'] = w;
  return { markdown: rows.join('\n'), json };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keras: { type: 'string' }, ours: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.keras || !values.ours) throw new Error('--keras FILE.jsonl and --ours DIR are required');
  const { markdown, json } = report(await readKeras(values.keras), await readOurs(values.ours));
  process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : `${markdown}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`compare: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
