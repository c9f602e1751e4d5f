import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import { filterGrad1chNative, nativeCoversFilter1ch } from './native-conv-grads.js';
import { filterGradBySparseRuns, isUnpadded, useSparseForm } from './sparse-conv-grads.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { convInfoOf, explicitPad, fallBack, unsupportedReason, type ConvGradAttrs, type Fallback } from './conv2d-grad-shared.js';
import { wasmModuleOf } from './wasm-asm.js';
import { filterPixelsFor, vectorsPerCall } from './wasm-filter-pixels.js';
import { channelsPerCall, filterRowsFor } from './wasm-filter-rows.js';

/**
 * Input channels up to which the filter gradient, where no SIMD form applies (cpu, padding, odd
 * widths), is one matrix product over im2col patches rather than a forward convolution. With one
 * channel (the model's first layer, batch 64), the convolution form is a 24×24-filter convolution
 * XNNPACK handles badly, slower than building the patches (25 × 36,864) and multiplying them by dy.
 * With 16 channels (second layer) the patches are 16 times larger and the product form loses
 * (bench/kernels.ts; figures in bench/FIGURES.md).
 */
const IM2COL_MAX_IN_CHANNELS = 4;

/**
 * Conv2DBackpropFilter for stride 1 and any padding, the first form that applies (the forms'
 * measured times are in bench/FIGURES.md):
 * - sparse (wasm, dy mostly zero, runs of kw·ci ≥ 16 floats): only dy's non-zeros
 *   (sparse-conv-grads.ts); the fastest form for the model's second layer;
 * - pixels (wasm, unpadded, one input channel, output channels in fours): NHWC x and dy in SIMD,
 *   output channels in lanes; the fastest form for the model's first layer;
 * - rows (wasm, unpadded, output width a multiple of 4): image rows against image rows in SIMD,
 *   after transposing dy; on the first layer faster than patches and conv;
 * - patches (up to IM2COL_MAX_IN_CHANNELS channels): dW[kh·kw·ci, co] = patches[kh·kw·ci, b·oh·ow]
 *   × dy[b·oh·ow, co], the patches built in JavaScript already transposed, because tfjs' wasm
 *   BatchMatMul runs on XNNPACK only without transposes (its transposed path is a scalar loop);
 * - conv: x transposed to [ci,H,W,b] convolved with dy transposed to [OH,OW,b,co], transposed
 *   back to [KH,KW,ci,co] (XNNPACK on wasm).
 * The wasm backend has no filter gradient of its own. Figures: bench/kernels.ts. Where the native
 * library loads (`native`: the process's, or another for tests), it runs the sparse and pixels
 * forms' sums instead of their wasm routines, to the same floats.
 */
export function conv2DBackpropFilterKernel(
  backendName: KernelBackendName,
  fallback: Fallback,
  native: () => NativeConv | null = nativeConv,
): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
    const info = convInfoOf(x.shape, attrs.filterShape, attrs);
    const reason = unsupportedReason(info);
    if (reason !== null) return fallBack('Conv2DBackpropFilter', backendName, reason, fallback, args);
    const t = new TensorAccess(backendName, args.backend);
    const lib = backendName === 'wasm' ? native() : null;
    const sparse = useSparseForm(t, dy, info) ? filterGradBySparseRuns(t, x, dy, info, lib) : null;
    if (sparse !== null) return sparse;
    const dense = filterGradByPixels(t, x, dy, info, lib) ?? filterGradByRows(t, x, dy, info);
    if (dense !== null) return dense;
    return info.inChannels <= IM2COL_MAX_IN_CHANNELS ? filterGradByPatches(t, x, dy, info) : filterGradByConv(t, x, dy, info);
  };
}

/**
 * The filter gradient on wasm for unpadded convolutions whose output width is a multiple of 4,
 * with no patches built and nothing packed: x as [b, ci, h, w] and dy as [b, co, oh, ow]
 * (transposes; none for x with one channel), then for each filter row, input channel and group
 * of output channels, image rows against image rows by a wasm SIMD routine
 * (wasm-filter-rows.ts). Null where it does not apply.
 */
export function filterGradByRows(
  t: TensorAccess,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const { batchSize, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, padInfo } = info;
  const unpadded = isUnpadded(padInfo);
  if (t.backendName !== 'wasm' || !unpadded || ow % 4 !== 0 || batchSize * oh * ow === 0) return null;
  const channels = channelsPerCall(kw, co);
  const run = filterRowsFor(wasmModuleOf(t.backend), kw, channels);
  if (run === null) return null;
  const xT = ci === 1 ? x : t.run('Transpose', { x }, { perm: [0, 3, 1, 2] });
  const dyT = t.run('Transpose', { x: dy }, { perm: [0, 3, 1, 2] });
  const sums = t.output([kw * channels], () => undefined);
  const dw = t.output([kh, kw, ci, co], (out) => {
    const xAt = t.float32(xT).byteOffset;
    const dyAt = t.float32(dyT).byteOffset;
    const sumsAt = t.float32(sums).byteOffset;
    const part = t.float32(sums);
    for (let r = 0; r < kh; r++) {
      for (let c = 0; c < ci; c++) {
        for (let o = 0; o < co; o += channels) {
          run(
            xAt + (c * h + r) * w * 4,
            dyAt + o * oh * ow * 4,
            batchSize,
            oh,
            w * 4,
            ci * h * w * 4,
            ow * 4,
            co * oh * ow * 4,
            ow / 4,
            oh * ow * 4,
            sumsAt,
          );
          for (let s = 0; s < kw; s++) {
            for (let k = 0; k < channels; k++) out[((r * kw + s) * ci + c) * co + o + k] = part[s * channels + k]!;
          }
        }
      }
    }
  });
  t.dispose(sums);
  if (xT !== x) t.dispose(xT);
  t.dispose(dyT);
  return dw;
}

/**
 * The filter gradient on wasm for unpadded convolutions with one input channel and output channels
 * in fours, straight from NHWC x and dy: for each filter row and group of output channels, a wasm
 * SIMD routine (wasm-filter-pixels.ts) with output channels in lanes. Saves the rows form's
 * transpose of dy. Null where it does not apply. With `native` covering it, the native routine
 * computes the same sums.
 */
export function filterGradByPixels(
  t: TensorAccess,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  native: NativeConv | null = null,
): tf.TensorInfo | null {
  const { batchSize, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, padInfo } = info;
  const unpadded = isUnpadded(padInfo);
  const vectors = vectorsPerCall(kw, co);
  if (t.backendName !== 'wasm' || !unpadded || ci !== 1 || vectors === 0 || batchSize * oh * ow === 0) return null;
  const run = filterPixelsFor(wasmModuleOf(t.backend), kw, vectors);
  if (run === null) return null;
  if (nativeCoversFilter1ch(native, info)) return filterGrad1chNative(t, native, x, dy, info);
  const group = 4 * vectors;
  const sums = t.output([kw * group], () => undefined);
  const dw = t.output([kh, kw, 1, co], (out) => {
    const xAt = t.float32(x).byteOffset;
    const dyAt = t.float32(dy).byteOffset;
    const sumsAt = t.float32(sums).byteOffset;
    const part = t.float32(sums);
    for (let r = 0; r < kh; r++) {
      for (let o = 0; o < co; o += group) {
        run(xAt + r * w * 4, dyAt + o * 4, batchSize, oh, w * 4, h * w * 4, ow * co * 4, oh * ow * co * 4, ow, co * 4, sumsAt);
        for (let s = 0; s < kw; s++) out.set(part.subarray(s * group, (s + 1) * group), (r * kw + s) * co + o);
      }
    }
  });
  t.dispose(sums);
  return dw;
}

export function filterGradByPatches(
  t: TensorAccess,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patches = t.output([1, kh * kw * ci, rows], (out) => im2colTransposed(t.float32(x), out, info));
  const dy3 = t.reshape(dy, [1, rows, co]);
  const dw3 = t.run('BatchMatMul', { a: patches, b: dy3 }, { transposeA: false, transposeB: false });
  t.dispose(patches);
  t.dispose(dy3);
  const dw = t.reshape(dw3, [kh, kw, ci, co]);
  t.dispose(dw3);
  return dw;
}

/**
 * patches[(kh, kw, ci), (b, oh, ow)] = x[b, oh + kh − top, ow + kw − left, ci], zero in the padding.
 * For one channel, each (kh, kw, b, oh) is a contiguous run of the image row.
 */
function im2colTransposed(x: Float32Array, out: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  let o = 0;
  for (let fr = 0; fr < kh; fr++) {
    for (let fc = 0; fc < kw; fc++) {
      // Output columns whose window column fc lies inside the image: [lo, hi).
      const lo = Math.min(ow, Math.max(0, left - fc));
      const hi = Math.max(lo, Math.min(ow, w + left - fc));
      for (let c = 0; c < ci; c++) {
        for (let b = 0; b < batchSize; b++) {
          for (let r = 0; r < oh; r++) {
            const y = r - top + fr;
            if (y < 0 || y >= h) {
              out.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            for (let s = 0; s < lo; s++) out[o++] = 0;
            let src = ((b * h + y) * w + lo - left + fc) * ci + c;
            for (let s = lo; s < hi; s++, src += ci) out[o++] = x[src]!;
            for (let s = hi; s < ow; s++) out[o++] = 0;
          }
        }
      }
    }
  }
}

export function filterGradByConv(
  t: TensorAccess,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const xT = t.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = t.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const dwT = t.run(
    'Conv2D',
    { x: xT, filter: dyT },
    { strides: 1, pad: explicitPad(top, bottom, left, right), dataFormat: 'NHWC', dilations: 1 },
  );
  t.dispose(xT);
  t.dispose(dyT);
  const dw = t.run('Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
  t.dispose(dwT);
  return dw;
}

/** The filter-gradient forms, by name, for benchmarks (bench/kernels.ts). */
export const FILTER_GRAD_FORMS = {
  conv: filterGradByConv,
  patches: filterGradByPatches,
  pixels: (t: TensorAccess, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) =>
    filterGradByPixels(t, x, dy, info) ?? filterGradByPatches(t, x, dy, info),
  rows: (t: TensorAccess, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) =>
    filterGradByRows(t, x, dy, info) ?? filterGradByPatches(t, x, dy, info),
  sparse: (t: TensorAccess, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) =>
    filterGradBySparseRuns(t, x, dy, info) ?? filterGradByConv(t, x, dy, info),
  /** The pixels and sparse forms' sums on the native library (the process's MIXUP_NATIVE_CONV), where it covers them. */
  'pixels native': (t: TensorAccess, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) =>
    filterGradByPixels(t, x, dy, info, nativeConv()) ?? filterGradByPatches(t, x, dy, info),
  'sparse native': (t: TensorAccess, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) =>
    filterGradBySparseRuns(t, x, dy, info, nativeConv()) ?? filterGradByConv(t, x, dy, info),
} as const;
