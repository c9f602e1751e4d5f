/**
 * The Keras fixture (written by replay_trace.py) and how far the job's trace lies from it: per-step loss
 * differences and, per weight, the distance between the two frameworks' weights after the last step
 * relative to how far Keras moved that weight. Shared by the parity test and compare-trace.ts.
 */
import { z } from 'zod';

import type { Trace, TraceArm, WeightTensor } from './trace.js';

const armSchema = z.object({ losses: z.array(z.number()), weights: z.array(z.string()) });
const settingsSchema = z.object({ seed: z.number().int(), steps: z.number().int().positive(), alpha: z.number(), batchSize: z.number().int().positive() });

export const fixtureSchema = z.object({
  version: z.literal(1),
  recordedAt: z.string(),
  recordedWith: z.record(z.string(), z.string()),
  trace: z.object({
    settings: settingsSchema,
    dropout: z.object({ rate: z.number(), unitShape: z.array(z.number().int()) }),
    weightShapes: z.array(z.array(z.number().int())),
    sha256: z.record(z.string(), z.string()),
  }),
  arms: z.object({ mixup: armSchema, baseline: armSchema }),
  init: z.object({
    seeds: z.array(z.number().int()),
    weights: z.array(z.object({ shape: z.array(z.number().int()), count: z.number().int(), mean: z.number(), std: z.number(), maxAbs: z.number() })),
  }),
  saturation: z.object({
    images: z.number().int().positive(),
    weight: z.number().int().nonnegative(),
    points: z.array(z.object({ scale: z.number(), loss: z.number() })),
  }),
});

export type KerasFixture = z.infer<typeof fixtureSchema>;

export function decodeFloats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** Keras's weights of one arm after the last step, in the trace's shapes. */
export function kerasWeights(fixture: KerasFixture, arm: TraceArm): WeightTensor[] {
  return fixture.arms[arm].weights.map((b64, i) => {
    const values = decodeFloats(b64);
    const shape = fixture.trace.weightShapes[i]!;
    if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`fixture: ${arm} weight ${i} has ${values.length} floats for shape [${shape}]`);
    return { shape, values };
  });
}

function norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! ** 2;
  return Math.sqrt(sum);
}

function difference(a: Float32Array, b: Float32Array): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]!);
}

export interface ArmDrift {
  /** |ours − Keras| / Keras, per step. */
  readonly lossRelative: number[];
  /** Per weight tensor: ‖ours − Keras‖ / ‖Keras − initial‖ (how far apart, against how far training moved it). */
  readonly weightRelative: number[];
}

export function armDrift(trace: Trace, fixture: KerasFixture, arm: TraceArm): ArmDrift {
  const ours = trace.arms[arm];
  const keras = fixture.arms[arm];
  const lossRelative = ours.losses.map((loss, i) => Math.abs(loss - keras.losses[i]!) / Math.abs(keras.losses[i]!));
  const kw = kerasWeights(fixture, arm);
  const weightRelative = ours.weights.map((w, i) => norm(difference(w.values, kw[i]!.values)) / norm(difference(kw[i]!.values, trace.initial[i]!.values)));
  return { lossRelative, weightRelative };
}

/** The Keras fixture's trace inputs that today's trace does not reproduce, by name. */
export function changedInputs(trace: Trace, fixture: KerasFixture, digests: Record<string, string>): string[] {
  const recorded = fixture.trace.sha256;
  const names = new Set([...Object.keys(recorded), ...Object.keys(digests)]);
  const settings = fixture.trace.settings;
  const changed = [...names].filter((name) => recorded[name] !== digests[name]);
  for (const key of ['seed', 'steps', 'alpha', 'batchSize'] as const) {
    if (trace.settings[key] !== settings[key]) changed.push(`settings.${key}`);
  }
  return changed;
}

/** Population statistics of a weight tensor's values, as the fixture records Keras's. */
export function weightStatistics(values: Float32Array): { mean: number; std: number; maxAbs: number } {
  let sum = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), maxAbs };
}
