import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../job/backend/select.js';
import { JobError } from '../../job/errors.js';

/** As on a machine without tfjs-node(-gpu), wherever these tests run. */
const noNative = async (pkg: string) => {
  throw new Error(`Cannot find package '${pkg}'`);
};

/** A wasm start that fails the way a broken binary does: with a huge message. */
const HUGE = `RuntimeError: abort(${'var a=function(){};'.repeat(2000)})`;

before(() => {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    throw new Error(HUGE);
  });
});

test("a failed wasm start becomes one short JobError sentence, with nothing dumped to stderr", async (t) => {
  const warn = t.mock.method(console, 'warn');
  const error = t.mock.method(console, 'error');
  await assert.rejects(initBackend('wasm'), (err: unknown) => {
    assert.ok(err instanceof JobError);
    assert.match(err.message, /^backend 'wasm' failed to start: .*RuntimeError: abort/);
    assert.match(err.message, /try --backend cpu$/);
    assert.ok(err.message.length < 500, `message is ${err.message.length} characters`);
    return true;
  });
  assert.equal(warn.mock.callCount(), 0);
  assert.equal(error.mock.callCount(), 0);
});

test("'auto' falls back to cpu when wasm cannot start", async () => {
  const selected = await initBackend('auto', noNative);
  assert.equal(selected.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test("'auto' takes TensorFlow's CPU build (tfjs-node) before cpu when wasm cannot start", async () => {
  const tried: string[] = [];
  const onlyCpuBuild = async (pkg: string) => {
    tried.push(pkg);
    if (pkg !== '@tensorflow/tfjs-node') throw new Error('not built');
    // What tfjs-node's import does, with tfjs' own cpu backend standing in for libtensorflow.
    if (tf.findBackendFactory('tensorflow') === null) {
      tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!);
      for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
    }
    return { version: { 'tfjs-node': '4.22.0' } };
  };
  const selected = await initBackend('auto', onlyCpuBuild);
  assert.deepEqual(tried, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
  assert.equal(selected.backend, 'tensorflow');
  assert.equal(selected.package, '@tensorflow/tfjs-node');
  assert.match(selected.failures.join('; '), /^@tensorflow\/tfjs-node-gpu: not built; wasm: .*RuntimeError/);
});

test("'auto' takes the GPU binding's CPU kernels when it finds no GPU and wasm cannot start", async () => {
  const tried: string[] = [];
  const gpuWithoutGpu = async (pkg: string) => {
    tried.push(pkg);
    if (pkg !== '@tensorflow/tfjs-node-gpu') throw new Error('not built');
    if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
    const cpuFactory = tf.findBackendFactory('cpu')!;
    tf.registerBackend('tensorflow', () => Object.assign(cpuFactory() as tf.KernelBackend, { isUsingGpuDevice: false }));
    if (tf.getKernelsForBackend('tensorflow').length === 0) {
      for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
    }
    return { version: { 'tfjs-node': '4.22.0' } };
  };
  const selected = await initBackend('auto', gpuWithoutGpu);
  assert.deepEqual(tried, ['@tensorflow/tfjs-node-gpu']);
  assert.equal(selected.backend, 'tensorflow');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.equal(selected.package, '@tensorflow/tfjs-node-gpu');
  assert.match(selected.failures.join('; '), /^@tensorflow\/tfjs-node-gpu: TensorFlow \? loaded but found no GPU; wasm: .*RuntimeError/);
});
