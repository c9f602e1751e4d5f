import type * as tf from '@tensorflow/tfjs';
import type { NativeConv } from '../native-conv.js';
import type { TensorAccess } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';

/**
 * The conv gradients on the native library (native/conv-grads.c), where the wasm SIMD form they
 * replace would run: the same sums in the same order, so the same floats bit for bit, with the
 * CPU's wider vectors. The callers (conv2d-grads.ts, conv2d-input-grad.ts, sparse-conv-grads.ts) decide that the wasm
 * form applies; these add what the native routines need on top (channels or runs in 16s).
 */

/** The one-channel filter gradient (wasm-filter-pixels.ts' sums) needs output channels in 16s. */
export function nativeCoversFilter1ch(native: NativeConv | null, info: tf.backend_util.Conv2DInfo): native is NativeConv {
  return native !== null && info.inChannels === 1 && info.outChannels % 16 === 0;
}

/** The sparse gradients (wasm-sparse-runs.ts' sums) need runs of kw · ci in 16s. */
export function nativeCoversSparse(native: NativeConv | null, info: tf.backend_util.Conv2DInfo): native is NativeConv {
  return native !== null && (info.filterWidth * info.inChannels) % 16 === 0;
}

function heapOf(t: TensorAccess): ArrayBuffer {
  return wasmModuleOf(t.backend).HEAPU8.buffer as ArrayBuffer;
}

/** dW [kh, kw, 1, co] of an unpadded stride-1 convolution of a one-channel x. */
export function filterGrad1chNative(
  t: TensorAccess,
  native: NativeConv,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, filterHeight: kh, filterWidth: kw, outChannels: co } = info;
  return t.output([kh, kw, 1, co], (out) => {
    native.filterGrad1ch(heapOf(t), t.float32(x).byteOffset, t.float32(dy).byteOffset, out.byteOffset, batchSize, inHeight, inWidth, kh, kw, co);
  });
}

/** dW [kh, kw, ci, co] of an unpadded stride-1 convolution, from dy's non-zeros. */
export function filterGradSparseNative(
  t: TensorAccess,
  native: NativeConv,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: ci, filterHeight: kh, filterWidth: kw, outChannels: co } = info;
  return t.output([kh, kw, ci, co], (out) => {
    native.sparseFilterGrad(heapOf(t), t.float32(x).byteOffset, t.float32(dy).byteOffset, out.byteOffset, batchSize, inHeight, inWidth, ci, kh, kw, co);
  });
}

/** dx [b, h, w, ci] of an unpadded stride-1 convolution, from dy's non-zeros. */
export function inputGradSparseNative(
  t: TensorAccess,
  native: NativeConv,
  filter: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: ci, filterHeight: kh, filterWidth: kw, outChannels: co } = info;
  return t.output(info.inShape, (out) => {
    native.sparseInputGrad(heapOf(t), t.float32(filter).byteOffset, t.float32(dy).byteOffset, out.byteOffset, batchSize, inHeight, inWidth, ci, kh, kw, co);
  });
}
