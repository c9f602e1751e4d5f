import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import type { Fallback } from './conv2d-grad-shared.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { AXPY_ENTRY_BYTES, axpyFor, type Axpy } from './wasm-axpy.js';
import { wasmModuleOf, type EmscriptenModuleLike } from './wasm-asm.js';

interface SumAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** Floats per block of rows added at once: long runs for the SIMD routine, a small accumulator. */
const BLOCK_FLOATS = 1024;

/**
 * Sum over every axis but the last, on wasm: a bias gradient (dy summed over batch, height and
 * width). The stock kernel transposes the channels to the front first, then sums each channel's
 * values one by one, a large share of a train step for the first layer's [64,24,24,16]
 * (bench/FIGURES.md).
 * Here the rows are added block by block ([R, C] at a time, R·C ≈ 1,024 floats) into one [R, C]
 * accumulator by the wasm SIMD axpy, and its R rows summed at the end: one pass over the data.
 * The order of the additions is fixed, so results are deterministic; each channel is a sum of R
 * partial sums, which is closer to the exact sum than the stock kernel's single running sum.
 * Other reductions, dtypes and backends go to the stock kernel. With channels in 16s the native
 * library adds the blocks instead where it loads (the same additions in the same order); the
 * partial sums are added here either way.
 */
export function sumKernel(backendName: KernelBackendName, stock: Fallback, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    const axpy = backendName === 'wasm' ? axpyFor(wasmModuleOf(args.backend)) : null;
    if (!leading || x.dtype !== 'float32' || axpy === null || tf.util.sizeFromShape(x.shape) === 0) {
      if (stock === undefined) throw new Error(`Sum on the ${backendName} backend has no stock kernel to fall back to`);
      return stock(args) as tf.TensorInfo;
    }
    const t = new TensorAccess(backendName, args.backend);
    const module = wasmModuleOf(args.backend);
    const channels = x.shape[rank - 1]!;
    const rows = tf.util.sizeFromShape(x.shape) / channels;
    const lib = channels % 16 === 0 ? native() : null;
    const blockRows = Math.max(1, Math.min(rows, Math.floor(BLOCK_FLOATS / Math.max(1, channels))));
    const blocks = Math.floor(rows / blockRows);
    const rest = rows - blocks * blockRows;
    const acc = t.output([blockRows * channels], (out) => {
      if (lib === null) out.fill(0);
    });
    if (lib !== null) {
      lib.sumBlocks(module.HEAPU8.buffer as ArrayBuffer, t.float32(x).byteOffset, t.float32(acc).byteOffset, rows, channels, blockRows);
    } else {
      addBlocks(t, module, axpy, x, acc, { blockRows, blocks, rest, channels });
    }
    const shape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
    // Each channel's blockRows partial sums, in double precision, rounded once (the same on every path).
    const out = t.output(shape, (values) => {
      const partial = t.float32(acc);
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let r = 0; r < blockRows; r++) sum += partial[r * channels + c]!;
        values[c] = sum;
      }
    });
    t.dispose(acc);
    return out;
  };
}

/** Adds x's blocks of rows into acc with the wasm axpy routine, one list entry per block. */
function addBlocks(
  t: TensorAccess,
  module: EmscriptenModuleLike,
  axpy: Axpy,
  x: tf.TensorInfo,
  acc: tf.TensorInfo,
  { blockRows, blocks, rest, channels }: { blockRows: number; blocks: number; rest: number; channels: number },
): void {
  const entries = blocks + (rest > 0 ? 1 : 0);
  const list = module._malloc(Math.max(1, entries) * AXPY_ENTRY_BYTES);
  const heap = module.HEAPU8.buffer as ArrayBuffer;
  const f32 = new Float32Array(heap);
  const u32 = new Uint32Array(heap);
  const xAt = t.float32(x).byteOffset;
  const accAt = t.float32(acc).byteOffset;
  const blockBytes = blockRows * channels * 4;
  for (let i = 0, p = list >>> 2; i < entries; i++, p += 4) {
    f32[p] = 1;
    u32[p + 1] = xAt + i * blockBytes;
    u32[p + 2] = accAt;
    u32[p + 3] = i < blocks ? blockRows * channels : rest * channels;
  }
  axpy(list, entries);
  module._free(list);
}
