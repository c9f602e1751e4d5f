import type * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import type { Fallback } from './conv2d-grad-shared.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';
import { addBiasFor } from './wasm-add-bias.js';

/**
 * Add on wasm for a bias: a float32 tensor plus a 1-D float32 tensor the length of its last axis,
 * that length a multiple of 4; a SIMD routine with no broadcasting machinery. The first conv
 * layer's bias add ([64,24,24,16] + [16]) is a few times faster this way than with the stock kernel
 * (bench/kernels.ts; figures in bench/FIGURES.md). With channels in 16s the native library adds
 * instead where it loads (the same floats). Every other Add goes to the stock kernel.
 */
export function addKernel(backendName: KernelBackendName, stock: Fallback, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const channels = a.shape[a.shape.length - 1];
    const bias =
      backendName === 'wasm' &&
      a.shape.length >= 2 &&
      b.shape.length === 1 &&
      b.shape[0] === channels &&
      channels % 4 === 0 &&
      a.dtype === 'float32' &&
      b.dtype === 'float32';
    const run = bias ? addBiasFor(wasmModuleOf(args.backend)) : null;
    if (run === null) {
      if (stock === undefined) throw new Error(`Add on the ${backendName} backend has no stock kernel to fall back to`);
      return stock(args) as tf.TensorInfo;
    }
    const t = new TensorAccess(backendName, args.backend);
    const lib = channels! % 16 === 0 ? native() : null;
    return t.output(a.shape, (out) => {
      const x = t.float32(a);
      const rows = x.length / channels!;
      if (lib !== null) {
        if (rows > 0) lib.addBias(wasmModuleOf(args.backend).HEAPU8.buffer as ArrayBuffer, x.byteOffset, t.float32(b).byteOffset, out.byteOffset, rows, channels!);
        return;
      }
      if (rows > 0) run(x.byteOffset, t.float32(b).byteOffset, out.byteOffset, rows, channels! * 4);
    });
  };
}
