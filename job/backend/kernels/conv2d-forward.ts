import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import type { Fallback } from './conv2d-grad-shared.js';
import { isUnpadded } from './sparse-conv-grads.js';
import { TensorAccess } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface FusedAttrs extends ConvAttrs {
  activation?: string;
}

/**
 * The case the native routine covers: float32 NHWC, stride 1, no dilation or padding, channels out a
 * multiple of 16, and a filter larger than 1×1 (XNNPACK runs 1×1 filters as a plain matrix product
 * whose clamp turns a NaN sum into −∞; its convolution kernel, which the native routine follows,
 * keeps it). The geometry is tfjs' own, as the stock kernel computes it.
 */
function covered(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: ConvAttrs): tf.backend_util.Conv2DInfo | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const fits =
    info.dataFormat === 'channelsLast' &&
    info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 &&
    isUnpadded(info.padInfo) &&
    info.filterHeight * info.filterWidth > 1 &&
    info.outChannels > 0 && info.outChannels % 16 === 0;
  return fits ? info : null;
}

function run(
  conv: NativeConv,
  backend: object,
  info: tf.backend_util.Conv2DInfo,
  inputs: { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo | null },
  relu: boolean,
): tf.TensorInfo {
  const t = new TensorAccess('wasm', backend);
  return t.output(info.outShape, (out) => {
    if (out.length === 0) return;
    const heap = wasmModuleOf(backend).HEAPU8.buffer as ArrayBuffer;
    const biasOffset = inputs.bias === null ? -1 : t.float32(inputs.bias).byteOffset;
    conv.conv2d(heap, t.float32(inputs.x).byteOffset, t.float32(inputs.filter).byteOffset, biasOffset, out.byteOffset,
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels, relu);
  });
}

/**
 * Conv2D on wasm through the native routine (`native`: the process's, or another for tests); the stock
 * kernel for everything it does not cover or where it is not built.
 */
export function conv2DKernel(stock: Fallback, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const conv = native();
    const info = conv === null ? null : covered(x, filter, args.attrs as unknown as ConvAttrs);
    if (conv !== null && info !== null) return run(conv, args.backend, info, { x, filter, bias: null }, false);
    if (stock === undefined) throw new Error('Conv2D on the wasm backend has no stock kernel to fall back to');
    return stock(args) as tf.TensorInfo;
  };
}

/**
 * FusedConv2D (what inference runs: a layer's convolution, bias and activation in one) the same
 * way: XNNPACK starts each sum at the bias, and its ReLU is an integer maximum with 0. Other activations, PReLU
 * weights or a bias not of one value per output channel take the stock kernel.
 */
export function fusedConv2DKernel(stock: Fallback, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as FusedAttrs;
    const activation = attrs.activation ?? 'linear';
    const conv = native();
    const biasFits = bias === undefined || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === filter!.shape[3]);
    const info =
      conv !== null && biasFits && preluActivationWeights === undefined && (activation === 'linear' || activation === 'relu')
        ? covered(x!, filter!, attrs)
        : null;
    if (conv !== null && info !== null) {
      return run(conv, args.backend, info, { x: x!, filter: filter!, bias: bias ?? null }, activation === 'relu');
    }
    if (stock === undefined) throw new Error('FusedConv2D on the wasm backend has no stock kernel to fall back to');
    return stock(args) as tf.TensorInfo;
  };
}
