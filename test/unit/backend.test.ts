import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../job/backend/select.js';
import { createModel } from '../../job/model.js';

// Selection with and without a native package: backend-native.test.ts (an injected loader).

test("initBackend('wasm') registers a filter gradient, which stock wasm lacks", async () => {
  await initBackend('wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined);
});

test("initBackend('cpu') selects cpu, provided by @tensorflow/tfjs itself", async () => {
  const selected = await initBackend('cpu');
  assert.equal(selected.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(selected.package, null);
  assert.equal(selected.versions['@tensorflow/tfjs-backend-wasm'], null);
});

test('two identical training runs on wasm end with bit-identical weights', async () => {
  await initBackend('wasm');
  const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
  const initial = createModel().getWeights().map((w) => w.clone());
  const train = () => {
    const model = createModel();
    model.setWeights(initial);
    const optimizer = tf.train.adam(1e-3);
    for (let step = 0; step < 3; step++) {
      // training: false keeps dropout (seeded elsewhere) out of what this test pins: the kernels.
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: false }) as tf.Tensor) as tf.Scalar);
    }
    return model.getWeights().map((w) => w.dataSync().slice());
  };
  const [first, second] = [train(), train()];
  assert.equal(first.length, second.length);
  first.forEach((w, i) => assert.deepEqual(second[i], w, `weight ${i}`));
  assert.ok(first.some((w, i) => w.some((v, j) => v !== initial[i]!.dataSync()[j])), 'the weights moved');
});
