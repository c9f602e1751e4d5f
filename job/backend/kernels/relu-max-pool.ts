import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import type { Fallback } from './conv2d-grad-shared.js';
import { TensorAccess } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';

/**
 * ReLU and 2×2 max-pooling on wasm through the native library (native/elementwise.c) where it
 * loads: the stock kernels' own floats (XNNPACK's integer-maximum ReLU; its max-pooling's order of
 * comparisons, which decides which of two equal zeros or a NaN comes out), with wider vectors and
 * no per-call setup. Everything else, and everywhere it does not load, is the stock kernel.
 * XNNPACK's wasm build picks an x86 or an Arm form of its max-pooling when it starts, from the host
 * it runs on, and the two differ on NaN and ±0; the native routine is the x86 form, so max-pooling
 * is native on x86 hosts only.
 */

/** Whether XNNPACK runs its x86 forms here. */
const X86_HOST = process.arch === 'x64' || process.arch === 'ia32';

function heapOf(backend: object): ArrayBuffer {
  return wasmModuleOf(backend).HEAPU8.buffer as ArrayBuffer;
}

function stockOrFail(kernelName: string, stock: Fallback, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  if (stock === undefined) throw new Error(`${kernelName} on the wasm backend has no stock kernel to fall back to`);
  return stock(args) as tf.TensorInfo;
}

export function reluKernel(stock: Fallback, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const lib = native();
    if (lib === null || x.dtype !== 'float32') return stockOrFail('Relu', stock, args);
    const t = new TensorAccess('wasm', args.backend);
    return t.output(x.shape, (out) => {
      if (out.length > 0) lib.relu(heapOf(args.backend), t.float32(x).byteOffset, out.byteOffset, out.length);
    });
  };
}

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The case covered: float32 NHWC, 2×2 windows at stride 2, no padding, channels in 16s. */
export function maxPoolCovered(x: tf.TensorInfo, attrs: PoolAttrs): tf.backend_util.Conv2DInfo | null {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { top, bottom, left, right } = info.padInfo;
  const fits =
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    top === 0 && bottom === 0 && left === 0 && right === 0 &&
    info.outHeight === Math.floor(info.inHeight / 2) && info.outWidth === Math.floor(info.inWidth / 2) &&
    info.outHeight > 0 && info.outWidth > 0 && info.inChannels % 16 === 0 && info.inChannels > 0;
  return fits ? info : null;
}

export function maxPoolKernel(stock: Fallback, native: () => NativeConv | null = nativeConv, x86Host = X86_HOST): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const lib = x86Host ? native() : null;
    const info = lib === null ? null : maxPoolCovered(x, args.attrs as unknown as PoolAttrs);
    if (lib === null || info === null) return stockOrFail('MaxPool', stock, args);
    const t = new TensorAccess('wasm', args.backend);
    return t.output(info.outShape, (out) => {
      if (out.length > 0) {
        lib.maxPool(heapOf(args.backend), t.float32(x).byteOffset, out.byteOffset, info.batchSize, info.inHeight, info.inWidth, info.inChannels);
      }
    });
  };
}
