import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../job/backend/select.js';
import { JobError } from '../../job/errors.js';
import { createModel } from '../../job/model.js';

const require = createRequire(import.meta.url);
const NATIVE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
const nativeInstalled = NATIVE.some((pkg) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
});
const skipNative = nativeInstalled ? 'a native TensorFlow package is installed on this machine' : false;

test("initBackend('tensorflow') fails with a JobError naming both packages and the way out", { skip: skipNative }, async () => {
  await assert.rejects(initBackend('tensorflow'), (err: unknown) => {
    assert.ok(err instanceof JobError);
    assert.match(err.message, /backend 'tensorflow' needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/);
    assert.match(err.message, /--backend wasm/);
    return true;
  });
});

test("initBackend('auto') falls through to wasm and records the versions", { skip: skipNative }, async () => {
  const selected = await initBackend('auto');
  assert.equal(selected.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(selected.package, '@tensorflow/tfjs-backend-wasm');
  assert.equal(selected.versions.node, process.versions.node);
  assert.equal(selected.versions['@tensorflow/tfjs'], tf.version.tfjs);
  assert.match(selected.versions['@tensorflow/tfjs-backend-wasm'] ?? '', /^\d+\.\d+\.\d+/);
  assert.equal(selected.versions['@tensorflow/tfjs-node-gpu'], null);
  assert.equal(selected.versions['@tensorflow/tfjs-node'], null);
});

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
