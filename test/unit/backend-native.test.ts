/**
 * Backend selection where the `tensorflow` binding is missing, broken or on a GPU: what the real
 * binding cannot show on this machine. A missing binding is the real loader pointed at an empty
 * folder; a GPU and a broken package are fakes (a package that registers tfjs' own cpu backend under
 * the native name). The real binding is tested in test/integration/tensorflow.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type NativeLoader } from '../../job/backend/select.js';
import { bindingLoader } from '../../job/backend/tensorflow-binding.js';
import { JobError } from '../../job/errors.js';

const GPU = '@tensorflow/tfjs-node-gpu';
const CPU_NATIVE = '@tensorflow/tfjs-node';
const FAKE_VERSION = '4.22.0-fake';

/** The real loader, looking where nothing was built. */
const nothingBuilt = () => bindingLoader(mkdtempSync(path.join(os.tmpdir(), 'mixup-no-binding-')));

/**
 * What a native package's import does: register the `tensorflow` backend and its kernels. `gpu` is
 * what the backend says of its device (tfjs-node's isUsingGpuDevice); undefined: it does not say.
 */
function registerFakeNative(gpu?: boolean): void {
  if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
  const cpuFactory = tf.findBackendFactory('cpu')!;
  tf.registerBackend('tensorflow', () => {
    const backend = cpuFactory() as tf.KernelBackend & { isUsingGpuDevice?: boolean };
    if (gpu !== undefined) backend.isUsingGpuDevice = gpu;
    return backend;
  });
  if (tf.getKernelsForBackend('tensorflow').length > 0) return;
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
}

/** A loader where only `loadable` packages import (their backend on a GPU or not); the rest are not built. */
function fakeLoader(loadable: readonly string[], gpu?: boolean): { load: NativeLoader; tried: string[] } {
  const tried: string[] = [];
  const load: NativeLoader = async (pkg) => {
    tried.push(pkg);
    if (!loadable.includes(pkg)) throw new Error('not built (npm run build:tensorflow)');
    registerFakeNative(gpu);
    return { version: { 'tfjs-node': `${FAKE_VERSION}-${pkg.endsWith('gpu') ? 'gpu' : 'cpu'}` } };
  };
  return { load, tried };
}

const kernelsOf = (backend: string) => new Map(tf.getKernelsForBackend(backend).map((k) => [k.kernelName, k.kernelFunc]));

describe('the native backend where it is missing, broken or on a GPU', () => {
  test("nothing built: 'tensorflow' is a JobError naming both packages, how to build one, and the way out", async () => {
    await assert.rejects(initBackend('tensorflow', nothingBuilt()), (err: unknown) => {
      assert.ok(err instanceof JobError);
      assert.match(err.message, /backend 'tensorflow' needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/);
      assert.match(err.message, /@tensorflow\/tfjs-node-gpu: not built \(npm run build:tensorflow -- gpu builds it/);
      assert.match(err.message, /@tensorflow\/tfjs-node: not built \(npm run build:tensorflow -- cpu builds it/);
      assert.match(err.message, /--backend wasm/);
      return true;
    });
  });

  test("nothing built: 'auto' takes wasm and records why the GPU binding was not taken", async () => {
    const selected = await initBackend('auto', nothingBuilt());
    assert.equal(selected.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(selected.package, '@tensorflow/tfjs-backend-wasm');
    assert.equal(selected.versions.node, process.versions.node);
    assert.equal(selected.versions['@tensorflow/tfjs'], tf.version.tfjs);
    assert.equal(selected.versions['@tensorflow/tfjs-backend-wasm'], '4.22.0');
    assert.equal(selected.versions[GPU], null);
    assert.equal(selected.versions[CPU_NATIVE], null);
    assert.equal(selected.failures.length, 1);
    assert.match(selected.failures[0]!, /^@tensorflow\/tfjs-node-gpu: not built/);
  });

  test("'auto' takes tfjs-node-gpu where TensorFlow is on a GPU, records its version and leaves the native kernels alone", async () => {
    const { load, tried } = fakeLoader([GPU, CPU_NATIVE], true);
    registerFakeNative(true);
    const before = kernelsOf('tensorflow');
    assert.ok(before.size > 100, `the fake native backend has the stock cpu kernels (${before.size})`);
    const selected = await initBackend('auto', load);
    assert.deepEqual(tried, [GPU], 'the GPU package is tried first and, once on a GPU, alone');
    assert.deepEqual(selected, {
      backend: 'tensorflow',
      package: GPU,
      versions: {
        node: process.versions.node,
        '@tensorflow/tfjs': tf.version.tfjs,
        [GPU]: `${FAKE_VERSION}-gpu`,
        [CPU_NATIVE]: null,
        '@tensorflow/tfjs-backend-wasm': null,
        // The fake has no binding to ask.
        libtensorflow: null,
      },
      failures: [],
    });
    assert.equal(tf.getBackend(), 'tensorflow');
    // No custom kernel replaces or joins the native ones: same names, same functions.
    assert.deepEqual(kernelsOf('tensorflow'), before);
    assert.equal(tf.getKernel('MixupReluGrad', 'tensorflow'), undefined);
  });

  test("tfjs-node-gpu that finds no GPU: 'auto' goes on to wasm (faster on a CPU) and says why; 'tensorflow' keeps it", async () => {
    const { load, tried } = fakeLoader([GPU], false);
    const selected = await initBackend('auto', load);
    assert.deepEqual(tried, [GPU]);
    assert.equal(selected.backend, 'wasm');
    assert.deepEqual(selected.failures, ['@tensorflow/tfjs-node-gpu: TensorFlow ? loaded but found no GPU']);
    const explicit = await initBackend('tensorflow', load);
    assert.equal(explicit.backend, 'tensorflow');
    assert.equal(explicit.package, GPU);
  });

  test("a package that imports but whose backend cannot start is skipped, with the reason kept", async () => {
    const failing: NativeLoader = async () => {
      tf.removeBackend('tensorflow');
      tf.registerBackend('tensorflow', () => {
        throw new Error('libcudart.so.11.0: cannot open shared object file');
      });
      return { version: { 'tfjs-node': FAKE_VERSION } };
    };
    await assert.rejects(initBackend('tensorflow', failing), /tfjs-node-gpu: .*libcudart\.so\.11\.0/);
    assert.equal((await initBackend('auto', failing)).backend, 'wasm');
  });
});
