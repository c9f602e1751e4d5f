/**
 * Bit-for-bit comparison of float32 outputs, for the tests that hold a custom kernel to the stock
 * one's exact floats (NaN signs and payloads included, which `===` on numbers cannot see).
 */
import * as tf from '@tensorflow/tfjs';

/** A tensor's floats as their 32-bit patterns. */
export function tensorBits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(new Float32Array(t.dataSync() as Float32Array).buffer);
}

/** A kernel output's floats as their 32-bit patterns (the tensor made for reading is disposed). */
export function tensorInfoBits(info: tf.TensorInfo): Uint32Array {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const out = tensorBits(t);
  t.dispose();
  return out;
}

/** How many words of `a` and `b` differ, and the first that does (−1 where none). */
export function bitDifferences(a: Uint32Array, b: Uint32Array): { differing: number; first: number } {
  let differing = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      differing++;
      if (first < 0) first = i;
    }
  }
  return { differing, first };
}
