import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';
import { maxPoolGradRowFor, type MaxPoolGradRow } from './wasm-max-pool-grad.js';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * MaxPoolGrad in one pass: each window's gradient goes to the first strict maximum in row-major
 * window order, the tie rule of the stock cpu kernel (ties are common after ReLU). Windows that
 * overlap accumulate. NHWC, any window, stride and padding: 2×2 windows at stride 2 with channels
 * in fours by a wasm SIMD routine on wasm (by the native library instead where it loads and the
 * channels are in 16s: the same bits), everything else in JavaScript over typed arrays.
 */
export function maxPoolGradKernel(backendName: KernelBackendName, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const attrs = args.attrs as unknown as MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const t = new TensorAccess(backendName, args.backend);
    const tiled = fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h && 2 * ow <= w;
    const simd =
      tiled && c % 4 === 0 && backendName === 'wasm'
        ? maxPoolGradRowFor(wasmModuleOf(args.backend))
        : null;
    const lib = simd !== null && c % 16 === 0 ? native() : null;
    if (lib !== null) {
      return t.output(input.shape, (dx) => {
        const heap = wasmModuleOf(args.backend).HEAPU8.buffer as ArrayBuffer;
        if (dx.length > 0) lib.maxPoolGrad(heap, t.float32(input).byteOffset, t.float32(dy).byteOffset, dx.byteOffset, batchSize, h, w, c);
      });
    }
    return t.output(input.shape, (dx) => {
      const x = t.float32(input);
      const g = t.float32(dy);
      if (simd !== null) {
        maxPoolGrad2x2Simd(simd, x, g, dx, batchSize, h, w, c, oh, ow);
      } else if (tiled) {
        maxPoolGrad2x2(x, g, dx, batchSize, h, w, c, oh, ow);
      } else {
        maxPoolGradAny(x, g, dx, info);
      }
    });
  };
}

/**
 * The model's case on wasm, with channels in fours: the SIMD routine, one row of windows per call.
 * In a batch-64 train step it is several times faster than the JavaScript loop below (bench/FIGURES.md).
 */
function maxPoolGrad2x2Simd(
  row: MaxPoolGradRow,
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batchSize: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): void {
  // The routine writes every value of every window; an odd last row or column is no window's.
  if (2 * oh < h || 2 * ow < w) dx.fill(0);
  const rowBytes = w * c * 4;
  const delta = dx.byteOffset - x.byteOffset;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      row(x.byteOffset + (b * h + 2 * r) * rowBytes, g.byteOffset + (b * oh + r) * ow * c * 4, delta, ow, c * 4, rowBytes);
    }
  }
}

/**
 * The model's case, 2×2 windows at stride 2 with no padding: windows do not overlap, so each one
 * writes its gradient once, with no accumulation and no window-bound arithmetic, several times
 * faster than the stock wasm kernel (bench/FIGURES.md).
 */
function maxPoolGrad2x2(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batchSize: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): void {
  // A native fill is cheaper than writing three zeros per window from JavaScript.
  dx.fill(0);
  const rowStride = w * c;
  let gi = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      const row0 = (b * h + 2 * r) * rowStride;
      for (let s = 0; s < ow; s++) {
        const p00 = row0 + 2 * s * c;
        const p10 = p00 + rowStride;
        for (let ch = 0; ch < c; ch++, gi++) {
          // First strict maximum in window order, starting below every number (NaN never wins).
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          const a = p00 + ch;
          const v00 = x[a];
          if (v00 > best) {
            best = v00;
            at = a;
          }
          const v01 = x[a + c];
          if (v01 > best) {
            best = v01;
            at = a + c;
          }
          const v10 = x[p10 + ch];
          if (v10 > best) {
            best = v10;
            at = p10 + ch;
          }
          if (x[p10 + ch + c] > best) at = p10 + ch + c;
          if (at >= 0) dx[at] = g[gi];
        }
      }
    }
  }
}

function maxPoolGradAny(x: Float32Array, g: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * h * w * c;
    for (let r = 0; r < oh; r++) {
      const r0 = r * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(h, r0 + fh);
      for (let s = 0; s < ow; s++) {
        const s0 = s * sw - left;
        const sMin = Math.max(0, s0);
        const sMax = Math.min(w, s0 + fw);
        const gBase = ((b * oh + r) * ow + s) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestAt = -1;
          for (let xr = rMin; xr < rMax; xr++) {
            const rowBase = xBatch + xr * w * c + ch;
            for (let xc = sMin; xc < sMax; xc++) {
              const at = rowBase + xc * c;
              const v = x[at];
              if (v > best) {
                best = v;
                bestAt = at;
              }
            }
          }
          if (bestAt >= 0) dx[bestAt] += g[gBase + ch];
        }
      }
    }
  }
}
