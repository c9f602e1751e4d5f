/**
 * The native (`tensorflow`) path, which AWS Batch relies on, without libtensorflow: a fake binding
 * package that registers tfjs' own cpu backend, and copies of its stock kernels, under the native
 * name, handed to initBackend through its loader parameter.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type NativeLoader } from '../../job/backend/select.js';
import { JobError } from '../../job/errors.js';

const GPU = '@tensorflow/tfjs-node-gpu';
const CPU_NATIVE = '@tensorflow/tfjs-node';
const FAKE_VERSION = '4.22.0-fake';

/** What a native package's import does: register the `tensorflow` backend and its kernels. */
function registerFakeNative(): void {
  if (tf.findBackendFactory('tensorflow') !== null) return;
  tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!);
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
}

/** A loader where only `loadable` packages import; the rest fail as a missing package does. */
function fakeLoader(loadable: readonly string[]): { load: NativeLoader; tried: string[] } {
  const tried: string[] = [];
  const load: NativeLoader = async (pkg) => {
    tried.push(pkg);
    if (!loadable.includes(pkg)) throw new Error(`Cannot find package '${pkg}' imported from select.ts`);
    registerFakeNative();
    return { version: { 'tfjs-node': `${FAKE_VERSION}-${pkg.endsWith('gpu') ? 'gpu' : 'cpu'}` } };
  };
  return { load, tried };
}

const kernelsOf = (backend: string) => new Map(tf.getKernelsForBackend(backend).map((k) => [k.kernelName, k.kernelFunc]));

describe('the native backend through an injected loader', () => {
  test("no native package: 'tensorflow' is a JobError naming both packages and the way out", async () => {
    const { load, tried } = fakeLoader([]);
    await assert.rejects(initBackend('tensorflow', load), (err: unknown) => {
      assert.ok(err instanceof JobError);
      assert.match(err.message, /backend 'tensorflow' needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/);
      assert.match(err.message, /Cannot find package '@tensorflow\/tfjs-node-gpu'/);
      assert.match(err.message, /--backend wasm/);
      return true;
    });
    assert.deepEqual(tried, [GPU, CPU_NATIVE]);
  });

  test("no native package: 'auto' tries both, then falls through to wasm and records the versions", async () => {
    const { load, tried } = fakeLoader([]);
    const selected = await initBackend('auto', load);
    assert.deepEqual(tried, [GPU, CPU_NATIVE]);
    assert.equal(selected.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(selected.package, '@tensorflow/tfjs-backend-wasm');
    assert.equal(selected.versions.node, process.versions.node);
    assert.equal(selected.versions['@tensorflow/tfjs'], tf.version.tfjs);
    assert.equal(selected.versions['@tensorflow/tfjs-backend-wasm'], '4.22.0');
    assert.equal(selected.versions[GPU], null);
    assert.equal(selected.versions[CPU_NATIVE], null);
  });

  test("'auto' picks tfjs-node-gpu first, records its version and leaves the native kernels alone", async () => {
    const { load, tried } = fakeLoader([GPU, CPU_NATIVE]);
    registerFakeNative();
    const before = kernelsOf('tensorflow');
    assert.ok(before.size > 100, `the fake native backend has the stock cpu kernels (${before.size})`);
    const selected = await initBackend('auto', load);
    assert.deepEqual(tried, [GPU], 'the GPU package is tried first and, once it loads, alone');
    assert.deepEqual(selected, {
      backend: 'tensorflow',
      package: GPU,
      versions: {
        node: process.versions.node,
        '@tensorflow/tfjs': tf.version.tfjs,
        [GPU]: `${FAKE_VERSION}-gpu`,
        [CPU_NATIVE]: null,
        '@tensorflow/tfjs-backend-wasm': null,
      },
      failures: [],
    });
    assert.equal(tf.getBackend(), 'tensorflow');
    // No custom kernel replaces or joins the native ones: same names, same functions.
    assert.deepEqual(kernelsOf('tensorflow'), before);
    assert.equal(tf.getKernel('MixupReluGrad', 'tensorflow'), undefined);
    // The backend computes, and ReLU's gradient takes tfjs' formula there.
    const x = tf.tensor1d([-1, 0.5, 2]);
    const grad = tf.grad((v: tf.Tensor) => tf.relu(v).sum())(x);
    assert.deepEqual(Array.from(grad.dataSync()), [0, 1, 1]);
    tf.dispose([x, grad]);
  });

  test("without the GPU package, 'auto' takes tfjs-node second", async () => {
    const { load, tried } = fakeLoader([CPU_NATIVE]);
    const selected = await initBackend('auto', load);
    assert.deepEqual(tried, [GPU, CPU_NATIVE]);
    assert.equal(selected.backend, 'tensorflow');
    assert.equal(selected.package, CPU_NATIVE);
    assert.equal(selected.versions[CPU_NATIVE], `${FAKE_VERSION}-cpu`);
    assert.equal(selected.versions[GPU], null);
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
