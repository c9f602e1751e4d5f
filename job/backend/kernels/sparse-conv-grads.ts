import type * as tf from '@tensorflow/tfjs';
import type { NativeConv } from '../native-conv.js';
import { filterGradSparseNative, inputGradSparseNative, nativeCoversSparse } from './native-conv-grads.js';
import { AXPY_ENTRY_BYTES, axpyFor, type Axpy, type EmscriptenModuleLike } from './wasm-axpy.js';
import { nonZeroFor } from './wasm-non-zero.js';
import { sparseRunsFor, type SparseRuns } from './wasm-sparse-runs.js';
import type { TensorAccess } from './tensor-access.js';

/** A VALID convolution, or an explicit padding of zero on every side. */
export function isUnpadded(padInfo: tf.backend_util.PadInfo): boolean {
  return padInfo.top === 0 && padInfo.left === 0 && padInfo.bottom === 0 && padInfo.right === 0;
}

/**
 * Conv gradients (stride 1) that visit only the non-zero entries of dy, on the wasm backend.
 * In this model dy always comes out of a 2×2 max-pool gradient and a ReLU, so at most a quarter
 * of it is non-zero: where the dense forms multiply by all of dy (the padded convolution of the
 * input gradient even by 2.25 times as much), these do a quarter of the work or less.
 * Each non-zero dy[b, oh, ow, co] = v and filter row kh contributes one contiguous run of
 * (kw, ci) values: to the input gradient, v · W[kh, ·, ·, co] added to dx[b, oh+kh−top, ·, ·]; to
 * the filter gradient, v · x[b, oh+kh−top, ·, ·] added to dW[kh, ·, ·, co] (kept as [co, kh, kw, ci]
 * so that the run is contiguous, then transposed). For unpadded convolutions one wasm routine walks
 * dy and adds the runs (wasm-sparse-runs.ts); otherwise JavaScript lists them and a smaller one adds
 * them (wasm-axpy.ts). Either way in a fixed order, so results are deterministic. Skipping zeros
 * changes nothing but 0 · ∞ = NaN terms, which are then left out. Where the native library is
 * given and covers the shape, it does the routine's work instead, to the same floats
 * (native-conv-grads.ts).
 */

/** dy densities above which the dense forms are used: they do the same work with better kernels. */
export const SPARSE_MAX_DENSITY = 0.5;

/**
 * Shortest run (kw · ci floats) worth a list entry, set by measurement (bench/kernels.ts, figures in
 * bench/FIGURES.md): the model's first layer has runs of 5 (one channel), where listing costs more
 * than im2col patches; its second layer has runs of 80, where the sparse form beats both dense ones.
 */
const SPARSE_MIN_RUN = 16;

/** Whether the sparse forms suit this call: wasm, long enough runs, and a mostly-zero dy. */
export function useSparseForm(t: TensorAccess, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): boolean {
  if (t.backendName !== 'wasm' || info.filterWidth * info.inChannels < SPARSE_MIN_RUN) return false;
  const values = t.float32(dy);
  return nonZeroCount(values, (t.backend as WasmBackendLike).wasm) <= SPARSE_MAX_DENSITY * values.length;
}

interface WasmBackendLike {
  wasm: EmscriptenModuleLike;
}

export type SparseForm = (
  t: TensorAccess,
  a: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  native?: NativeConv | null,
) => tf.TensorInfo | null;

/**
 * Non-zero entries of `values`; with `module`, whose heap `values` lies in, the groups of four are
 * counted by a SIMD routine (the JavaScript loop was a visible share of a step in a V8 profile).
 */
export function nonZeroCount(values: Float32Array, module?: EmscriptenModuleLike): number {
  const simd = module === undefined ? null : nonZeroFor(module);
  const vectorised = simd === null ? 0 : values.length - (values.length % 4);
  let nonZero = vectorised > 0 ? simd!(values.byteOffset, vectorised) : 0;
  let zeros = 0;
  // Branch-free: where zeros fall is unpredictable.
  for (let i = vectorised; i < values.length; i++) zeros += +(values[i] === 0);
  nonZero += values.length - vectorised - zeros;
  return nonZero;
}

/**
 * Lists one run per (non-zero dy entry, filter row inside the image) at `list` and returns how many.
 * `imageAt` and `filterAt` are the byte addresses of the NHWC image batch and of the
 * [co, kh, kw, ci] array; `toImage` says which of the two each run adds into.
 */
function listRuns(
  heap: ArrayBuffer,
  list: number,
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  imageAt: number,
  filterAt: number,
  toImage: boolean,
): number {
  const { batchSize, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const f32 = new Float32Array(heap);
  const u32 = new Uint32Array(heap);
  const rowBytes = w * ci * 4;
  const filterRowBytes = kw * ci * 4;
  const filterChannelBytes = kh * filterRowBytes;
  // Entry words 1 and 2: source and destination.
  const imageWord = toImage ? 2 : 1;
  const filterWord = toImage ? 1 : 2;
  let p = list >>> 2;
  const start = p;
  let at = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      const frLo = Math.max(0, top - r);
      const frHi = Math.min(kh, h + top - r);
      for (let s = 0; s < ow; s++, at += co) {
        const x0 = s - left;
        const kwLo = Math.max(0, -x0);
        const kwHi = Math.min(kw, w - x0);
        if (kwHi <= kwLo || frHi <= frLo) continue;
        const run = (kwHi - kwLo) * ci;
        const image0 = imageAt + (b * h + r - top + frLo) * rowBytes + (x0 + kwLo) * ci * 4;
        const filter0 = filterAt + frLo * filterRowBytes + kwLo * ci * 4;
        for (let c = 0; c < co; c++) {
          const v = dy[at + c]!;
          if (v === 0) continue;
          let image = image0;
          let filter = filter0 + c * filterChannelBytes;
          for (let fr = frLo; fr < frHi; fr++, image += rowBytes, filter += filterRowBytes) {
            f32[p] = v;
            u32[p + imageWord] = image;
            u32[p + filterWord] = filter;
            u32[p + 3] = run;
            p += 4;
          }
        }
      }
    }
  }
  return (p - start) / 4;
}

/**
 * Adds every run: for unpadded convolutions with runs in fours, by one wasm routine that walks dy
 * itself (wasm-sparse-runs.ts: no JavaScript listing, the larger part of a call on the model's
 * second layer); otherwise listed here and added by the axpy routine.
 */
function addRuns(
  t: TensorAccess,
  module: EmscriptenModuleLike,
  axpy: Axpy,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  imageAt: number,
  filterAt: number,
  toImage: boolean,
): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const walk = walkFor(module, info, toImage);
  if (walk !== null) {
    walk(
      t.float32(dy).byteOffset,
      batchSize,
      oh,
      ow,
      co,
      imageAt,
      filterAt,
      kh,
      (kw * ci) / 4,
      w * ci * 4,
      ci * 4,
      h * w * ci * 4,
      kh * kw * ci * 4,
      kw * ci * 4,
    );
    return;
  }
  const list = module._malloc(Math.max(1, runsNeeded(t.float32(dy), info, module)) * AXPY_ENTRY_BYTES);
  const count = listRuns(module.HEAPU8.buffer as ArrayBuffer, list, t.float32(dy), info, imageAt, filterAt, toImage);
  axpy(list, count);
  module._free(list);
}

/** The routine that walks dy itself, where it applies: unpadded, runs in fours, something to walk. */
function walkFor(module: EmscriptenModuleLike, info: tf.backend_util.Conv2DInfo, toImage: boolean): SparseRuns | null {
  const { batchSize, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co, filterWidth: kw } = info;
  const applies = isUnpadded(info.padInfo) && (kw * ci) % 4 === 0 && batchSize * oh * ow * co > 0;
  return applies ? sparseRunsFor(module, toImage) : null;
}

/** Runs listed for `dy`, at most: one per non-zero and filter row. */
function runsNeeded(dy: Float32Array, info: tf.backend_util.Conv2DInfo, module: EmscriptenModuleLike): number {
  return nonZeroCount(dy, module) * info.filterHeight;
}

/** The input gradient (`a` is the filter), or null where wasm SIMD is missing. */
export const inputGradBySparseRuns: SparseForm = (t, filter, dy, info, native = null) => {
  const module = (t.backend as WasmBackendLike).wasm;
  const axpy = axpyFor(module);
  if (axpy === null) return null;
  if (nativeCoversSparse(native, info) && walkFor(module, info, true) !== null) return inputGradSparseNative(t, native, filter, dy, info);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const dx = t.output(info.inShape, (out) => out.fill(0));
  const wt = t.output([co, kh, kw, ci], (out) => {
    const f = t.float32(filter);
    for (let k = 0; k < kh * kw; k++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) out[(o * kh * kw + k) * ci + i] = f[(k * ci + i) * co + o]!;
      }
    }
  });
  addRuns(t, module, axpy, dy, info, t.float32(dx).byteOffset, t.float32(wt).byteOffset, true);
  t.dispose(wt);
  return dx;
};

/** The filter gradient (`a` is the layer input x), or null where wasm SIMD is missing. */
export const filterGradBySparseRuns: SparseForm = (t, x, dy, info, native = null) => {
  const module = (t.backend as WasmBackendLike).wasm;
  const axpy = axpyFor(module);
  if (axpy === null) return null;
  if (nativeCoversSparse(native, info) && walkFor(module, info, false) !== null) return filterGradSparseNative(t, native, x, dy, info);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const acc = t.output([co, kh, kw, ci], (out) => out.fill(0));
  const dw = t.output([kh, kw, ci, co], () => undefined);
  addRuns(t, module, axpy, dy, info, t.float32(x).byteOffset, t.float32(acc).byteOffset, false);
  const a = t.float32(acc);
  const out = t.float32(dw);
  for (let o = 0; o < co; o++) {
    for (let k = 0; k < kh * kw; k++) {
      for (let i = 0; i < ci; i++) out[(k * ci + i) * co + o] = a[(o * kh * kw + k) * ci + i]!;
    }
  }
  t.dispose(acc);
  return dw;
};
