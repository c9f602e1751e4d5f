/**
 * The fused loss head, dropout and Mean gradient against the tfjs chains they replace, on wasm and cpu:
 * the same floats bit for bit (forward and gradient), the fallbacks where a fused form does not apply,
 * and the kernel calls a train step saves.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { FusedDropout } from '../../job/backend/fused-dropout.js';
import { countCorrect, softmaxCrossentropy } from '../../job/backend/fused-loss.js';
import { DROPOUT, dropoutMultiplier } from '../../job/backend/kernels/dropout.js';
import { CORRECT_COUNT, SOFTMAX_CROSSENTROPY, SOFTMAX_CROSSENTROPY_GRAD } from '../../job/backend/kernels/loss-head.js';
import { MEAN_GRAD } from '../../job/backend/kernels/mean-grad.js';
import { initBackend } from '../../job/backend/select.js';
import { createModel, setDropoutSeed } from '../../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../../job/shared/fashion-mnist.js';
import { createOptimizer, trainStep } from '../../job/train-step.js';
import { mulberry32 as generator } from '../support/fake-dataset.js';

/** Raw float32 bits, every NaN as one (backends differ in a NaN's sign and payload, never in a number). */
function bits(values: tf.TypedArray | Float32Array): number[] {
  return [...new Uint32Array(Float32Array.from(values as Float32Array).buffer)].map((b, i) => (Number.isNaN(values[i]) ? 0x7fc00000 : b));
}

function assertSameBits(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.deepEqual(bits(actual.dataSync()), bits(expected.dataSync()), `${what}: bits`);
}

/** Logits of every scale (large ones saturate the softmax), soft and one-hot labels, and ties. */
function lossCase(trial: number, rows = 64, cols = CLASS_COUNT): { logits: tf.Tensor2D; labels: tf.Tensor2D; dy: tf.Tensor1D } {
  const r = generator(trial + 1);
  const scale = [0.5, 6, 40, 120][trial % 4]!;
  const logits = Array.from({ length: rows * cols }, () => (trial % 7 === 3 ? Math.round(r() * 4) : r() * 2 - 1) * scale);
  const labels = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const a = Math.floor(r() * cols);
    const b = Math.floor(r() * cols);
    const lambda = trial % 3 === 0 ? 1 : trial % 5 === 1 ? 0.5 : Math.fround(r());
    labels[i * cols + a]! += lambda;
    labels[i * cols + b]! += Math.fround(1 - lambda);
  }
  return {
    logits: tf.tensor2d(logits, [rows, cols]),
    labels: tf.tensor2d(labels, [rows, cols]),
    dy: tf.tensor1d(Array.from({ length: rows }, () => r() * 2 - 1)),
  };
}

/** The loss's chain in tfjs ops, and TensorFlow's gradient of it: what the kernels must reproduce bit for bit. */
function chainLoss(labels: tf.Tensor, logits: tf.Tensor): tf.Tensor {
  const shifted = tf.sub(logits, tf.max(logits, 1, true));
  return tf.sum(tf.mul(labels, tf.sub(tf.log(tf.sum(tf.exp(shifted), 1, true)), shifted)), 1);
}

function chainGrad(labels: tf.Tensor, logits: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const exps = tf.exp(tf.sub(logits, tf.max(logits, 1, true)));
  return tf.mul(tf.reshape(dy, [-1, 1]), tf.sub(tf.div(exps, tf.sum(exps, 1, true)), labels));
}

/** Σⱼ yⱼ · (log Σₖ exp(lₖ) − lⱼ) in doubles, per row. */
function lossInDoubles(labels: Float32Array, logits: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length / cols; i++) {
    const row = [...logits.subarray(i * cols, (i + 1) * cols)];
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((sum, l) => sum + Math.exp(l - max), 0));
    out.push(row.reduce((sum, l, j) => sum + labels[i * cols + j]! * (logSum - l), 0));
  }
  return out;
}

function checkLossHead(): void {
  let beyondClip = 0;
  for (let trial = 0; trial < 40; trial++) {
    tf.tidy(() => {
      const cols = trial % 4 === 2 ? 3 : CLASS_COUNT;
      const { logits, labels, dy } = lossCase(trial, trial % 2 === 0 ? 64 : 7, cols);
      const probs = tf.softmax(logits);
      const what = `trial ${trial}`;
      const loss = softmaxCrossentropy(labels, logits);
      assertSameBits(loss, chainLoss(labels, logits), `${what} loss`);
      const weighted = tf.grad((l: tf.Tensor) => tf.mul(softmaxCrossentropy(labels, l), dy))(logits);
      assertSameBits(weighted, chainGrad(labels, logits, dy), `${what} d loss / d logits`);
      const inDoubles = lossInDoubles(labels.dataSync() as Float32Array, logits.dataSync() as Float32Array, cols);
      (loss.dataSync() as Float32Array).forEach((value, i) => {
        assert.ok(Math.abs(value - inDoubles[i]!) <= 1e-5 * Math.max(1, inDoubles[i]!), `${what} row ${i}: ${value} vs ${inDoubles[i]}`);
        if (value > -Math.log(1e-7)) beyondClip++;
      });
      const stockCount = tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(labels, 1)), 'float32'));
      assertSameBits(countCorrect(labels, probs), stockCount, `${what} correct count`);
    });
  }
  // The large logits saturate the softmax: losses beyond −log 1e-7, where clipped probabilities would stop.
  assert.ok(beyondClip > 100, `${beyondClip} rows beyond the clip`);
}

/** Rows training meets only after divergence, or never: NaN, ±∞ and huge logits, NaN labels. */
function checkLossHeadEdges(): void {
  tf.tidy(() => {
    const logits = tf.tensor2d([NaN, 0.5, 0.5, 0.2, NaN, 0.8, 0, 0, 1e30, -Infinity, 0.5, 0, Infinity, 0, 0, 2, 1e-30, 3, 1e4, -1e4, 0], [7, 3]);
    const labels = tf.tensor2d([1, 0, 0, 0, 1, 0, 0.5, 0.5, 0, 0.5, 0.5, 0, 0, 0, 1, NaN, 0, 1, 0, 1, 0], [7, 3]);
    const dy = tf.ones([7]);
    assertSameBits(softmaxCrossentropy(labels, logits), chainLoss(labels, logits), 'loss');
    assertSameBits(tf.grad((l: tf.Tensor) => softmaxCrossentropy(labels, l))(logits), chainGrad(labels, logits, dy), 'gradient');
    const probs = tf.softmax(logits);
    const stockCount = tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(labels, 1)), 'float32'));
    assertSameBits(countCorrect(labels, probs), stockCount, 'correct count');
  });
}

function checkDropout(): void {
  for (const [shape, rate, seed] of [
    [[64, 4, 4, 32], 0.2, 12345],
    [[3, 7], 0.5, 7],
    [[1001], 0.9, 2 ** 31 - 1],
  ] as const) {
    tf.tidy(() => {
      const r = generator(seed);
      const x = tf.tensor(Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, () => r() * 4 - 2), [...shape]);
      const dy = tf.tensor(Array.from({ length: x.size }, () => r() * 2 - 1), [...shape]);
      const layer = new FusedDropout({ rate });
      (layer as unknown as { seed: number }).seed = seed;
      const fused = (t: tf.Tensor) => layer.apply(t, { training: true }) as tf.Tensor;
      const stock = (t: tf.Tensor) => tf.dropout(t, rate, undefined, seed);
      assertSameBits(fused(x), stock(x), `dropout ${rate} forward`);
      assertSameBits(tf.grad(fused)(x, dy), tf.grad(stock)(x, dy), `dropout ${rate} gradient`);
      assertSameBits(layer.apply(x, { training: false }) as tf.Tensor, x, 'inference is the identity');
    });
  }
}

function checkMeanGradient(): void {
  for (const [shape, axis] of [
    [[64, 4, 4, 32], [1, 2]],
    [[64], [0]],
    [[3, 5, 2], [0, 1]],
    [[3, 5, 2], -1],
    [[3, 5, 2], [0, 2]], // not contiguous: the stock formula
  ] as const) {
    tf.tidy(() => {
      const r = generator(shape.length * 31);
      const x = tf.tensor(Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, () => r() * 2 - 1), [...shape]);
      const y = tf.mean(x, axis as number | number[]);
      const dy = tf.tensor(Array.from({ length: y.size }, () => (r() * 2 - 1) * 10 ** Math.floor(r() * 6 - 3)), y.shape);
      const got = tf.grad((t: tf.Tensor) => tf.mean(t, axis as number | number[]))(x, dy);
      const axes = tf.util.parseAxisParam(axis as number | number[], [...shape]);
      const expanded = shape.map((size, a) => (axes.includes(a) ? 1 : size));
      const reduceSize = axes.reduce((n, a) => n * shape[a]!, 1);
      const want = tf.div(tf.mul(tf.reshape(dy, expanded), tf.ones([...shape], 'float32')), reduceSize);
      assertSameBits(got, want, `mean gradient over ${JSON.stringify(axis)} of [${shape.join(',')}]`);
    });
  }
}

/** The kernels one train step runs, by name. */
async function stepKernels(): Promise<string[]> {
  const model = createModel(3);
  const optimizer = createOptimizer();
  const r = generator(9);
  const x = Float32Array.from({ length: 8 * IMAGE_PIXELS }, () => r());
  const y = new Float32Array(8 * CLASS_COUNT);
  for (let i = 0; i < 8; i++) y[i * CLASS_COUNT + (i % CLASS_COUNT)] = 1;
  setDropoutSeed(model, 5);
  trainStep(model, optimizer, x, y, 8);
  setDropoutSeed(model, 6);
  const profile = await tf.profile(() => {
    trainStep(model, optimizer, x, y, 8);
  });
  model.dispose();
  optimizer.dispose();
  return profile.kernels.map((k) => k.name);
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fused loss, dropout and mean gradient on ${backend}`, () => {
    before(async () => {
      assert.equal((await initBackend(backend)).backend, backend);
      for (const name of [SOFTMAX_CROSSENTROPY, SOFTMAX_CROSSENTROPY_GRAD, DROPOUT, MEAN_GRAD]) assert.ok(tf.getKernel(name, backend), name);
    });

    test('the loss from the logits and its gradient are the chain’s floats, the loss unclipped; the correct count is the stock one', checkLossHead);
    test('NaN, ±∞ and huge logits give what the chain gives', checkLossHeadEdges);
    test('dropout in training is tfjs’ dropout op bit for bit (mask, output, gradient); inference is the identity', checkDropout);
    test('the Mean gradient is tfjs-core’s formula bit for bit, contiguous axes fused and others stock', checkMeanGradient);

    test('a train step runs the fused kernels and none of the stock chains they replace', async () => {
      const kernels = await stepKernels();
      for (const name of [SOFTMAX_CROSSENTROPY, SOFTMAX_CROSSENTROPY_GRAD, DROPOUT, MEAN_GRAD]) assert.ok(kernels.includes(name), `${name} ran`);
      for (const name of ['ClipByValue', 'ArgMax', 'Floor', 'Select', 'Pack']) assert.ok(!kernels.includes(name), `no ${name}`);
      assert.ok(kernels.length <= 112, `${kernels.length} kernel calls`);
    });
  });
}

describe('the dropout mask', () => {
  test('is the draw of tfjs’ own randomUniform, scaled as its dropout scales it', () => {
    const seed = 424242;
    const uniform = tf.randomUniform([5000], 0, 1, 'float32', seed).dataSync();
    const keep = Math.fround(0.7);
    const expected = Float32Array.from(uniform, (u) => Math.fround(Math.floor(Math.fround(u + keep)) / keep));
    assert.deepEqual(bits(dropoutMultiplier(0.3, String(seed), 5000)), bits(expected));
    const kept = expected.filter((m) => m !== 0).length / expected.length;
    assert.ok(Math.abs(kept - 0.7) < 0.03, `kept ${kept}`);
  });
});

describe('fused ops on a backend without their kernels (tfjs-node, WebGL)', () => {
  test('a train step falls back to the stock chains, with the same floats and none of the fused kernels', async () => {
    await initBackend('cpu');
    const names = [SOFTMAX_CROSSENTROPY, SOFTMAX_CROSSENTROPY_GRAD, CORRECT_COUNT, DROPOUT, MEAN_GRAD];
    const run = () => {
      const model = createModel(4);
      const optimizer = createOptimizer();
      const r = generator(21);
      const x = Float32Array.from({ length: 8 * IMAGE_PIXELS }, () => r());
      const y = new Float32Array(8 * CLASS_COUNT);
      for (let i = 0; i < 8; i++) y[i * CLASS_COUNT + ((i * 3) % CLASS_COUNT)] = 1;
      const results = [0, 1].map((step) => {
        setDropoutSeed(model, 30 + step);
        return trainStep(model, optimizer, x, y, 8);
      });
      const weights = model.getWeights().map((w) => bits(w.dataSync()));
      model.dispose();
      optimizer.dispose();
      return { results, weights };
    };
    const fused = run();
    const configs = names.map((name) => tf.getKernel(name, 'cpu')!);
    names.forEach((name) => tf.unregisterKernel(name, 'cpu'));
    try {
      const profile = await tf.profile(() => {
        const stock = run();
        assert.deepEqual(stock, fused);
      });
      const ran = new Set(profile.kernels.map((k) => k.name));
      for (const name of names) assert.ok(!ran.has(name), `${name} did not run`);
      for (const name of ['Max', 'Exp', 'ArgMax', 'Floor']) assert.ok(ran.has(name), `the stock ${name} ran`);
    } finally {
      configs.forEach((config) => tf.registerKernel(config));
    }
  });
});

