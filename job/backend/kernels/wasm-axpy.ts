import { body, F32, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

export type { EmscriptenModuleLike } from './wasm-asm.js';

/**
 * A tiny WebAssembly SIMD routine that runs inside the tfjs wasm backend's own memory: for each
 * entry (v, src, dst, len) of a list, dst[0..len) += v · src[0..len) on float32s. JavaScript decides
 * what to add where; the routine does the arithmetic four lanes at a time, which JavaScript cannot
 * (V8 does not vectorise loops).
 */

/** Bytes per list entry: f32 v, u32 src byte offset, u32 dst byte offset, u32 run length in floats. */
export const AXPY_ENTRY_BYTES = 16;

export type Axpy = (list: number, count: number) => void;

function axpyBody(): number[] {
  const [list, count, end, src, dst, vecEnd, runEnd, blockEnd, v, vv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return body(
    [
      [6, I32],
      [1, F32],
      [1, V128],
    ],
    [
      // end = list + count · 16
      ...op.get(list), ...op.get(count), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add, ...op.set(end),
      ...op.block,
      ...op.get(list), ...op.get(end), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...op.get(list), ...op.f32Load(0), ...op.set(v),
      ...op.get(list), ...op.i32Load(4), ...op.set(src),
      ...op.get(list), ...op.i32Load(8), ...op.set(dst),
      ...op.get(v), ...op.f32x4Splat, ...op.set(vv),
      // vecEnd = src + (len & ~3) · 4; runEnd = src + len · 4
      ...op.get(src), ...op.get(list), ...op.i32Load(12), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(runEnd),
      ...op.get(src), ...op.get(list), ...op.i32Load(12), ...op.i32Const(-4), ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(vecEnd),
      // blockEnd = src + (len & ~15) · 4
      ...op.get(src), ...op.get(list), ...op.i32Load(12), ...op.i32Const(-16), ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(blockEnd),
      // sixteen floats at a time, unrolled: a quarter of the loop's bookkeeping
      ...op.block,
      ...op.get(src), ...op.get(blockEnd), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...[0, 16, 32, 48].flatMap((at) => [
        ...op.get(dst),
        ...op.get(dst), ...op.v128LoadAt(at),
        ...op.get(vv), ...op.get(src), ...op.v128LoadAt(at), ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.v128StoreAt(at),
      ]),
      ...op.get(src), ...op.i32Const(64), ...op.i32Add, ...op.set(src),
      ...op.get(dst), ...op.i32Const(64), ...op.i32Add, ...op.set(dst),
      ...op.get(src), ...op.get(blockEnd), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
      // four lanes at a time
      ...op.block,
      ...op.get(src), ...op.get(vecEnd), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...op.get(dst),
      ...op.get(dst), ...op.v128Load,
      ...op.get(vv), ...op.get(src), ...op.v128Load, ...op.f32x4Mul,
      ...op.f32x4Add,
      ...op.v128Store,
      ...op.get(src), ...op.i32Const(16), ...op.i32Add, ...op.set(src),
      ...op.get(dst), ...op.i32Const(16), ...op.i32Add, ...op.set(dst),
      ...op.get(src), ...op.get(vecEnd), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
      // the rest one at a time
      ...op.block,
      ...op.get(src), ...op.get(runEnd), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...op.get(dst),
      ...op.get(dst), ...op.f32Load(0),
      ...op.get(v), ...op.get(src), ...op.f32Load(0), ...op.f32Mul,
      ...op.f32Add,
      ...op.f32Store,
      ...op.get(src), ...op.i32Const(4), ...op.i32Add, ...op.set(src),
      ...op.get(dst), ...op.i32Const(4), ...op.i32Add, ...op.set(dst),
      ...op.get(src), ...op.get(runEnd), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
      // next entry
      ...op.get(list), ...op.i32Const(16), ...op.i32Add, ...op.set(list),
      ...op.get(list), ...op.get(end), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, Axpy | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function axpyFor(module: EmscriptenModuleLike): Axpy | null {
  return routineFor(cache, module, () => moduleBytes(2, axpyBody()));
}
