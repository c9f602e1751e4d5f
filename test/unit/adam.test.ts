import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { FusedAdamOptimizer } from '../../job/backend/fused-adam.js';
import { ADAM_UPDATE } from '../../job/backend/kernels/adam.js';
import { adamFor } from '../../job/backend/kernels/wasm-adam.js';
import { wasmModuleOf } from '../../job/backend/kernels/wasm-asm.js';
import { initBackend } from '../../job/backend/select.js';
import { createModel, setDropoutSeed } from '../../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../../job/shared/fashion-mnist.js';
import { trainStep } from '../../job/train-step.js';
import { mulberry32 } from '../support/fake-dataset.js';

/** The model's weight shapes, plus odd sizes that leave a remainder after groups of four and sixteen. */
const SHAPES = [[5, 5, 1, 16], [16], [5, 5, 16, 32], [32], [32, 128], [128], [128, 10], [10], [7], [3, 3, 3]];
const STEPS = 6;
const HYPER = [1e-3, 0.9, 0.999, 1e-7] as const;

/** mulberry32, scaled: gradients across many magnitudes, with exact zeros and a few subnormals. */
function randomArray(size: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = next();
    const scale = 10 ** Math.floor(u * 1e6 % 12 - 8);
    out[i] = u < 0.05 ? 0 : u < 0.07 ? (u - 0.06) * 1e-38 : (u * 2 - 1) * scale;
  }
  return out;
}

function bits(values: tf.TypedArray | Float32Array): Uint32Array {
  return new Uint32Array(Float32Array.from(values as Float32Array).buffer);
}

/** Values of the weights, both moments and β-powers, as raw bits. */
async function stateOf(optimizer: tf.AdamOptimizer, weights: tf.Variable[]): Promise<Uint32Array[]> {
  const slots = await optimizer.getWeights();
  const fields = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  return [...weights, ...slots.map((s) => s.tensor), fields.accBeta1, fields.accBeta2].map((t) => bits(t.dataSync()));
}

/** Runs `steps` updates of `optimizer` on fresh variables with the same random values and gradients. */
async function run(optimizer: tf.AdamOptimizer, tag: string): Promise<{ state: Uint32Array[]; kernels: string[] }> {
  const weights = SHAPES.map((shape, i) => tf.variable(tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), 100 + i), shape), true, `${tag}/w${i}`));
  let kernels: string[] = [];
  for (let step = 0; step < STEPS; step++) {
    const gradients = weights.map((w, i) => ({ name: w.name, tensor: tf.tensor(randomArray(w.size, 1000 * step + i), w.shape) }));
    const profile = await tf.profile(() => optimizer.applyGradients(gradients));
    kernels = profile.kernels.map((k) => k.name);
    tf.dispose(gradients.map((g) => g.tensor));
  }
  const state = await stateOf(optimizer, weights);
  tf.dispose(weights);
  optimizer.dispose();
  return { state, kernels };
}

function assertSameBits(actual: Uint32Array[], expected: Uint32Array[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const at = a.findIndex((x, j) => x !== expected[i]![j]);
    assert.equal(at, -1, `tensor ${i} differs at element ${at}: ${new Float32Array(a.buffer)[at]} vs ${new Float32Array(expected[i]!.buffer)[at]}`);
  });
}

/** Runs `body` with the fused kernel unregistered on the current backend: the optimizer's tfjs-ops path. */
async function withoutKernel<T>(body: () => Promise<T>): Promise<T> {
  const backend = tf.getBackend();
  const config = tf.getKernel(ADAM_UPDATE, backend)!;
  tf.unregisterKernel(ADAM_UPDATE, backend);
  try {
    return await body();
  } finally {
    tf.registerKernel(config);
  }
}

/** Keras 3's Adam.update_step in doubles (keras/src/optimizers/adam.py), for one weight over several steps. */
function kerasAdamInDoubles(value: number, gradients: number[]): number {
  const [lr, b1, b2, eps] = HYPER;
  let [m, v] = [0, 0];
  gradients.forEach((g, i) => {
    const t = i + 1;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    m += (g - m) * (1 - b1);
    v += (g * g - v) * (1 - b2);
    value -= (m * alpha) / (Math.sqrt(v) + eps);
  });
  return value;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fused Adam on ${backend}`, () => {
    test(`${STEPS} steps on random weights and gradients: one kernel call, bit-identical to the same update in tfjs ops`, async () => {
      await initBackend(backend);
      const fused = await run(new FusedAdamOptimizer(...HYPER), 'fused');
      const ops = await withoutKernel(() => run(new FusedAdamOptimizer(...HYPER), 'ops'));
      assert.ok(ops.kernels.length > 5 * SHAPES.length, `the tfjs-ops update ran ${ops.kernels.length} kernels`);
      assert.deepEqual(fused.kernels, [ADAM_UPDATE]);
      assertSameBits(fused.state, ops.state);
      // On wasm the groups of four run in the SIMD routine, so the comparison covered it.
      if (backend === 'wasm') assert.notEqual(adamFor(wasmModuleOf(tf.backend())), null);
    });

    test("Keras's update: ε added to √v with the bias corrections in the step size, not to √v̂ as in tfjs' Adam", async () => {
      await initBackend(backend);
      // Gradients from 1e-2 down to 1e-6, where the two places for ε part ways, over three steps.
      const gradients = [[1e-2, 8e-3, -5e-3], [1e-4, 1.2e-4, 9e-5], [1e-5, -1e-5, 2e-5], [1e-6, 1e-6, 1e-6], [-3e-6, 0, 2e-6]];
      const start = [0.5, -0.25, 0.125, 1, -2];
      const weight = tf.variable(tf.tensor1d(start), true, 'keras-form/w');
      const optimizer = new FusedAdamOptimizer(...HYPER);
      const stock = tf.train.adam(...HYPER);
      const stockWeight = tf.variable(tf.tensor1d(start), true, 'keras-form/stock');
      for (let step = 0; step < 3; step++) {
        const g = tf.tensor1d(gradients.map((row) => row[step]!));
        optimizer.applyGradients([{ name: weight.name, tensor: g }]);
        stock.applyGradients([{ name: stockWeight.name, tensor: g }]);
        g.dispose();
      }
      const ours = [...(weight.dataSync() as Float32Array)];
      const tfjs = [...(stockWeight.dataSync() as Float32Array)];
      start.forEach((w0, i) => {
        const keras = kerasAdamInDoubles(w0, gradients[i]!);
        const moved = Math.abs(keras - w0);
        assert.ok(Math.abs(ours[i]! - keras) <= 1e-4 * moved + 2 ** -23 * Math.abs(keras), `weight ${i}: ${ours[i]} vs Keras ${keras}`);
      });
      // tfjs' ε placement moves a weight with 1e-4 gradients 2 % further in these three steps than
      // Keras's does, and one with 1e-6 gradients three times as far.
      const ratio = (i: number) => (tfjs[i]! - start[i]!) / (ours[i]! - start[i]!);
      assert.ok(ratio(1) > 1.015 && ratio(1) < 1.03, `1e-4 gradients: tfjs/Keras ${ratio(1)}`);
      assert.ok(ratio(3) > 2.9 && ratio(3) < 3.1, `1e-6 gradients: tfjs/Keras ${ratio(3)}`);
      tf.dispose([weight, stockWeight]);
      optimizer.dispose();
      stock.dispose();
    });

    test('train steps of the model: the same weights with and without the kernel, no tensor left behind', async () => {
      await initBackend(backend);
      const steps = backend === 'cpu' ? 2 : 4;
      const size = 16;
      const x = randomArray(size * IMAGE_PIXELS, 7).map((v) => Math.abs(v) % 1);
      const y = new Float32Array(size * CLASS_COUNT);
      for (let i = 0; i < size; i++) y[i * CLASS_COUNT + (i % CLASS_COUNT)] = 1;
      const train = async () => {
        const optimizer = new FusedAdamOptimizer(...HYPER);
        const model = createModel(3);
        const losses: number[] = [];
        for (let s = 0; s < steps; s++) {
          const before = tf.memory().numTensors;
          setDropoutSeed(model, 50 + s);
          losses.push(trainStep(model, optimizer, x, y, size).lossSum);
          // The first step creates the moments (two per weight) and the model's lazily built state.
          if (s > 0) assert.equal(tf.memory().numTensors, before, `step ${s} left tensors behind`);
        }
        const result = { losses, weights: model.getWeights().map((w) => bits(w.dataSync())) };
        optimizer.dispose();
        model.dispose();
        return result;
      };
      const fused = await train();
      const ops = await withoutKernel(train);
      assert.deepEqual(fused.losses, ops.losses);
      assertSameBits(fused.weights, ops.weights);
    });
  });
}
