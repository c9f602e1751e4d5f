/**
 * The parity trace: the first steps of both arms as the job trains them, with everything random that
 * those steps use written down, so that the Keras example can replay exactly the same steps
 * (reference/keras/replay_trace.py) and the two frameworks' losses and weights can be compared
 * (test/unit/keras-parity.test.ts).
 *
 * It drives the job's own code, unchanged: the model factory and its initial weights (createModel),
 * the optimizer (createOptimizer), and the training loop (trainArm, which builds each step's batch and
 * λ, seeds dropout and runs trainStep). What the steps drew is read back from the job's deterministic
 * parts afterwards: each batch's rows and λ from EpochBatches (the baseline's rows are the mixup arm's
 * first stream, checked image by image), and each dropout mask from the seed trainArm gave the Dropout
 * layer, through the job's own mask function. Dropout stays on: the masks are recorded as kept/dropped,
 * and Keras applies them with its own 1/(1 − p) scaling.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

import { armAugmentation, type ArmSpec } from '../../job/augmentation-registry.js';
import { EpochBatches, gatherImages, type LabelledImages } from '../../job/batches.js';
import { dropoutMultiplier } from '../../job/backend/kernels/dropout.js';
import type { TrainSplit } from '../../job/data/splits.js';
import { createModel } from '../../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../../job/shared/fashion-mnist.js';
import { freshProgress, trainArm } from '../../job/train.js';
import { createOptimizer } from '../../job/train-step.js';

export const TRACE_VERSION = 1;
/** The Keras example's two arms: MixUp, and the baseline without augmentation. */
export type TraceArm = 'mixup' | 'baseline';
export const TRACE_ARMS: readonly TraceArm[] = ['mixup', 'baseline'];

/** What a measurement may swap in for the job's own parts (compare-trace.ts); the test uses the job's. */
export interface TraceOverrides {
  readonly createOptimizer?: () => tf.Optimizer;
}

export interface TraceSettings {
  readonly seed: number;
  /** Training steps per arm, from the start of epoch 1. */
  readonly steps: number;
  readonly alpha: number;
  readonly batchSize: number;
}

export interface WeightTensor {
  readonly shape: number[];
  readonly values: Float32Array;
}

export interface ArmTrace {
  /** steps × batch: the training rows of each step (the first stream's for mixup). */
  readonly rows1: Int32Array;
  /** Mixup only: the second stream's rows, and λ per sample. */
  readonly rows2: Int32Array | null;
  readonly lambda: Float32Array | null;
  /** steps × batch × units: 1 where the step's dropout kept the unit, 0 where it dropped it. */
  readonly keep: Uint8Array;
  /** What the job computed: each step's mean loss, and the weights after the last step. */
  readonly losses: number[];
  readonly weights: WeightTensor[];
}

export interface Trace {
  readonly settings: TraceSettings;
  readonly dropout: { readonly rate: number; readonly unitShape: number[] };
  readonly initial: WeightTensor[];
  readonly arms: Record<TraceArm, ArmTrace>;
}

/** The Dropout layer's rate, its per-sample input shape, and the seed its latest call used. */
function dropoutLayer(model: tf.LayersModel): { rate: number; unitShape: number[]; seed: () => number } {
  const layers = model.layers.filter((layer) => layer.getClassName() === 'Dropout');
  if (layers.length !== 1) throw new Error(`the trace expects one Dropout layer; the model has ${layers.length}`);
  const layer = layers[0]!;
  const fields = layer as unknown as { rate: number; seed?: number };
  const unitShape = (layer.outputShape as (number | null)[]).slice(1) as number[];
  return {
    rate: fields.rate,
    unitShape,
    seed: () => {
      if (fields.seed === undefined) throw new Error('the Dropout layer has no seed: the training loop no longer seeds it');
      return fields.seed;
    },
  };
}

function weightsOf(model: tf.LayersModel): WeightTensor[] {
  return model.getWeights().map((t) => ({ shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) }));
}

const NO_IMAGES: LabelledImages = { x: new Float32Array(0), y: new Float32Array(0), count: 0 };

/** The arm as the job trains it: its augmentation from the registry (the baseline's is `none`), given α. */
function armOf(arm: TraceArm, alpha: number): ArmSpec {
  const augmentation = armAugmentation(arm);
  if (!augmentation) throw new Error(`no augmentation for the arm '${arm}'`);
  return { arm, augmentation: augmentation.name, params: augmentation.params.parse({ alpha }) };
}

/** One arm's first `steps` steps from `initial`, through the job's training loop. */
async function traceArm(train: TrainSplit, initial: tf.Tensor[], arm: TraceArm, settings: TraceSettings, overrides: TraceOverrides): Promise<ArmTrace> {
  const { seed, steps, alpha, batchSize } = settings;
  const model = createModel(seed);
  model.setWeights(initial);
  const optimizer = (overrides.createOptimizer ?? createOptimizer)();
  const dropout = dropoutLayer(model);
  const units = dropout.unitShape.reduce((a, b) => a * b, 1);
  const keep = new Uint8Array(steps * batchSize * units);
  const losses: number[] = [];
  let lossSum = 0;
  let seen = 0;
  try {
    const outcome = await trainArm(model, optimizer, { train, val: NO_IMAGES }, { ...armOf(arm, alpha), epochs: 1, batchSize, seed }, freshProgress(arm), {
      onStep: ({ step, partial }) => {
        const size = partial.seen - seen;
        if (size !== batchSize) throw new Error(`step ${step} had ${size} samples; the trace needs full batches`);
        losses.push((partial.lossSum - lossSum) / size);
        lossSum = partial.lossSum;
        seen = partial.seen;
        const multiplier = dropoutMultiplier(dropout.rate, String(dropout.seed()), size * units);
        const at = (step - 1) * batchSize * units;
        for (let i = 0; i < multiplier.length; i++) keep[at + i] = multiplier[i] !== 0 ? 1 : 0;
      },
      shouldStop: () => losses.length >= steps,
    });
    if (!outcome.stopped || losses.length !== steps) throw new Error(`the arm stopped after ${losses.length} of ${steps} steps`);
    return { ...batchesOf(train, arm, settings), keep, losses, weights: weightsOf(model) };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** The rows and λ of the first `steps` batches of epoch 1, as EpochBatches made them. */
function batchesOf(train: TrainSplit, arm: TraceArm, settings: TraceSettings): Pick<ArmTrace, 'rows1' | 'rows2' | 'lambda'> {
  const { seed, steps, alpha, batchSize } = settings;
  const mine = new EpochBatches(train, armOf(arm, alpha), batchSize, seed, 1);
  // The baseline's batches carry no rows: they are the mixup arm's first stream (common random numbers).
  const mixup = arm === 'mixup' ? mine : new EpochBatches(train, armOf('mixup', alpha), batchSize, seed, 1);
  const rows1 = new Int32Array(steps * batchSize);
  const rows2 = new Int32Array(steps * batchSize);
  const lambda = new Float32Array(steps * batchSize);
  const gathered = new Float32Array(batchSize * IMAGE_PIXELS);
  for (let step = 0; step < steps; step++) {
    const mixed = mixup.batch(step);
    const [one, two] = mixed.rows;
    rows1.set(one, step * batchSize);
    rows2.set(two, step * batchSize);
    lambda.set(mixed.lam, step * batchSize);
    if (arm === 'baseline') {
      const batch = mine.batch(step);
      gatherImages(train.pixels, one, gathered);
      if (batch.size !== batchSize || batch.y.length !== batchSize * CLASS_COUNT || !sameFloats(batch.x, gathered)) {
        throw new Error(`the baseline's batch ${step} is not the mixup arm's first stream: the trace cannot name its rows`);
      }
    }
  }
  return arm === 'mixup' ? { rows1, rows2, lambda } : { rows1, rows2: null, lambda: null };
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * The trace of both arms for `settings`: the initial weights of createModel(seed), which both arms
 * start from as in a run, then each arm's steps.
 */
export async function recordTrace(train: TrainSplit, settings: TraceSettings, overrides: TraceOverrides = {}): Promise<Trace> {
  if (!(settings.steps >= 1) || settings.steps * settings.batchSize > train.count) {
    throw new RangeError(`steps ${settings.steps}: the trace covers 1 to ${Math.floor(train.count / settings.batchSize)} full batches of epoch 1`);
  }
  const initialModel = createModel(settings.seed);
  const initialTensors = initialModel.getWeights();
  const initial = weightsOf(initialModel);
  const { rate, unitShape } = dropoutLayer(initialModel);
  try {
    const arms = {} as Record<TraceArm, ArmTrace>;
    for (const arm of TRACE_ARMS) arms[arm] = await traceArm(train, initialTensors, arm, settings, overrides);
    return { settings, dropout: { rate, unitShape }, initial, arms };
  } finally {
    initialModel.dispose();
  }
}

/**
 * SHA-256 of each recorded input, in the bytes its trace file holds (little-endian), so that a fixture
 * can say which trace Keras replayed and a test which part of today's trace differs from it.
 */
export function traceDigests(trace: Trace): Record<string, string> {
  const sha = (...arrays: ArrayBufferView[]) => {
    const hash = createHash('sha256');
    for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return hash.digest('hex');
  };
  const digests: Record<string, string> = { initial: sha(...trace.initial.map((w) => w.values)) };
  for (const arm of TRACE_ARMS) {
    const a = trace.arms[arm];
    digests[`${arm}.rows1`] = sha(a.rows1);
    if (a.rows2) digests[`${arm}.rows2`] = sha(a.rows2);
    if (a.lambda) digests[`${arm}.lambda`] = sha(a.lambda);
    digests[`${arm}.keep`] = sha(a.keep);
  }
  return digests;
}
