import type * as tf from '@tensorflow/tfjs';
import type { Fallback } from './conv2d-grad-shared.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * BatchMatMul on wasm with a transposed operand and a batch of one: the operand is transposed
 * first, so that the product runs on XNNPACK. tfjs' wasm kernel uses XNNPACK only without
 * transposes; with one it falls back to a scalar loop, and the dense layers' weight and input
 * gradients are exactly such products. Everything else goes to the stock kernel.
 */
export function batchMatMulKernel(backendName: KernelBackendName, stock: Fallback): tf.KernelFunc {
  return (args) => {
    if (stock === undefined) throw new Error(`BatchMatMul on the ${backendName} backend has no stock kernel to fall back to`);
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const batchOf = (x: tf.TensorInfo) => x.shape.slice(0, -2).reduce((n, d) => n * d, 1);
    const applies =
      backendName === 'wasm' &&
      (transposeA || transposeB) &&
      a.shape.length >= 2 &&
      b.shape.length >= 2 &&
      batchOf(a) === 1 &&
      batchOf(b) === 1 &&
      a.dtype === 'float32' &&
      b.dtype === 'float32';
    if (!applies) return stock(args) as tf.TensorInfo;
    const t = new TensorAccess(backendName, args.backend);
    const matrix = (x: tf.TensorInfo, transpose: boolean): tf.TensorInfo => {
      const [r, c] = x.shape.slice(-2) as [number, number];
      const flat = t.reshape(x, [r, c]);
      if (!transpose) return flat;
      const transposed = t.run('Transpose', { x: flat }, { perm: [1, 0] });
      t.dispose(flat);
      return transposed;
    };
    const a2 = matrix(a, transposeA);
    const b2 = matrix(b, transposeB);
    const product = stock({ inputs: { a: a2, b: b2 }, backend: args.backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
    t.dispose(a2);
    t.dispose(b2);
    const rank = Math.max(a.shape.length, b.shape.length);
    const shape = [...new Array<number>(rank - 2).fill(1), ...product.shape.slice(-2)];
    const out = t.reshape(product, shape);
    t.dispose(product);
    return out;
  };
}
