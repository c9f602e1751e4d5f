/**
 * SoftmaxDense: tfjs-layers' Dense, float for float, that leaves the logits of its softmax beside its
 * output (as Keras's softmax does) for the loss, which is then Keras's: unclipped, from the logits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../job/backend/select.js';
import { logitsOf, SoftmaxDense } from '../../job/backend/softmax-dense.js';
import { createModel } from '../../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../../job/shared/fashion-mnist.js';
import { evaluateBatch, trainStep, createOptimizer } from '../../job/train-step.js';
import { mulberry32 } from '../support/fake-dataset.js';

function bits(t: tf.Tensor): number[] {
  return [...new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer)];
}

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const next = mulberry32(seed);
  return tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (next() * 2 - 1) * scale), shape);
}

/** A one-layer model of `layer` on [rows, 128] inputs, with the given kernel and bias. */
function oneLayer(layer: tf.layers.Layer, kernel: tf.Tensor, bias: tf.Tensor): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: [128] }));
  model.add(layer);
  model.setWeights([kernel, bias]);
  return model;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`SoftmaxDense on ${backend}`, () => {
    test("its output is the stock Dense's bit for bit, its logits the stock dot plus bias", async () => {
      await initBackend(backend);
      tf.tidy(() => {
        const [kernel, bias, x] = [randomTensor([128, 10], 1, 0.3), randomTensor([10], 2), randomTensor([64, 128], 3)];
        const ours = new SoftmaxDense({ units: 10, activation: 'softmax' });
        const stock = tf.layers.dense({ units: 10, activation: 'softmax' });
        oneLayer(ours, kernel, bias);
        oneLayer(stock, kernel, bias);
        for (const training of [true, false]) {
          const probs = ours.apply(x, { training }) as tf.Tensor;
          assert.deepEqual(bits(probs), bits(stock.apply(x, { training }) as tf.Tensor));
          const logits = logitsOf(probs);
          assert.ok(logits !== undefined);
          assert.deepEqual(bits(logits), bits(tf.add(tf.matMul(x, kernel), bias)));
          assert.deepEqual(bits(tf.softmax(logits)), bits(probs));
        }
        assert.equal(logitsOf(stock.apply(x) as tf.Tensor), undefined);
      });
    });

    test('another activation is the stock layer, with no logits', async () => {
      await initBackend(backend);
      tf.tidy(() => {
        const [kernel, bias, x] = [randomTensor([128, 10], 4), randomTensor([10], 5), randomTensor([8, 128], 6)];
        const ours = new SoftmaxDense({ units: 10, activation: 'relu' });
        const stock = tf.layers.dense({ units: 10, activation: 'relu' });
        oneLayer(ours, kernel, bias);
        oneLayer(stock, kernel, bias);
        const out = ours.apply(x) as tf.Tensor;
        assert.deepEqual(bits(out), bits(stock.apply(x) as tf.Tensor));
        assert.equal(logitsOf(out), undefined);
      });
    });
  });
}

describe('the model with SoftmaxDense', () => {
  test("saves as the stock Dense, and loads as one", async () => {
    await initBackend('cpu');
    const model = createModel(1);
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string; config: { activation?: string } }[] } };
    const last = json.config.layers.at(-1)!;
    assert.equal(last.class_name, 'Dense');
    assert.equal(last.config.activation, 'softmax');
    const loaded = await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
    assert.equal(loaded.layers.at(-1)!.getClassName(), 'Dense');
    loaded.dispose();
    model.dispose();
  });

  test('a model whose output layer leaves no logits is refused in one line', async () => {
    await initBackend('cpu');
    const model = tf.sequential();
    model.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
    model.add(tf.layers.dense({ units: CLASS_COUNT, activation: 'softmax' }));
    const x = new Float32Array(2 * IMAGE_PIXELS);
    const y = new Float32Array(2 * CLASS_COUNT).fill(0.1);
    const optimizer = createOptimizer();
    assert.throws(() => trainStep(model, optimizer, x, y, 2), /not this project's SoftmaxDense/);
    assert.throws(() => evaluateBatch(model, x, y, 2), /not this project's SoftmaxDense/);
    model.dispose();
    optimizer.dispose();
  });

  test("a saturated model's loss is the logits' log-softmax, beyond the −log 1e-7 a clip would cap it at", async () => {
    await initBackend('wasm');
    const model = createModel(2);
    const weights = model.getWeights();
    // The last kernel scaled up until most probabilities underflow.
    model.setWeights(weights.map((w, i) => (i === weights.length - 2 ? tf.mul(w, 1000) : w)));
    const next = mulberry32(8);
    const x = Float32Array.from({ length: 16 * IMAGE_PIXELS }, () => next());
    const y = new Float32Array(16 * CLASS_COUNT);
    for (let i = 0; i < 16; i++) y[i * CLASS_COUNT + (i % CLASS_COUNT)] = 1;
    const { lossSum } = evaluateBatch(model, x, y, 16);
    assert.ok(Number.isFinite(lossSum) && lossSum / 16 > -Math.log(1e-7), `mean loss ${lossSum / 16}`);
    model.dispose();
  });
});
