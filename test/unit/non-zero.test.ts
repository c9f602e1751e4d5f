import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../job/backend/select.js';
import { nonZeroCount } from '../../job/backend/kernels/sparse-conv-grads.js';
import { wasmModuleOf } from '../../job/backend/kernels/wasm-asm.js';
import { nonZeroFor } from '../../job/backend/kernels/wasm-non-zero.js';

test("nonZeroCount's SIMD routine counts as JavaScript does: −0 is zero, NaN and subnormals are not, any length", async () => {
  await initBackend('wasm');
  const module = wasmModuleOf(tf.backend());
  assert.notEqual(nonZeroFor(module), null);
  for (const length of [0, 1, 3, 4, 5, 17, 131_075]) {
    const values = new Float32Array(length).map((_, i) => [0, -0, 1, NaN, 1e-45, 0, -2, 0][(i * 7) % 8]!);
    const expected = values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    const tensor = tf.tensor1d(values);
    const heap = tf.backend() as unknown as { typedArrayFromHeap(t: tf.Tensor): Float32Array };
    const view = heap.typedArrayFromHeap(tensor);
    assert.equal(nonZeroCount(view, module), expected, `length ${length}`);
    assert.equal(nonZeroCount(values), expected, `length ${length}, JavaScript`);
    tensor.dispose();
  }
});
