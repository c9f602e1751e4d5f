import { body, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * run(x, dy, dx, count): dx = dy where x > 0, else 0, on `count` floats (a multiple of 4) at the
 * given byte addresses, four lanes at a time with a mask, no branches.
 */
export type ReluGradSimd = (x: number, dy: number, dx: number, count: number) => void;

function reluGradBody(): number[] {
  const [x, dy, dx, count] = [0, 1, 2, 3];
  const [end] = [4];
  const [zero] = [5]; // wasm locals start at zero
  return body(
    [
      [1, I32],
      [1, V128],
    ],
    [
      ...op.get(x), ...op.get(count), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(end),
      ...op.block,
      ...op.get(x), ...op.get(end), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...op.get(dx),
      ...op.get(dy), ...op.v128Load,
      ...op.get(x), ...op.v128Load, ...op.get(zero), ...op.f32x4Gt,
      ...op.v128And,
      ...op.v128Store,
      ...op.get(x), ...op.i32Const(16), ...op.i32Add, ...op.set(x),
      ...op.get(dy), ...op.i32Const(16), ...op.i32Add, ...op.set(dy),
      ...op.get(dx), ...op.i32Const(16), ...op.i32Add, ...op.set(dx),
      ...op.get(x), ...op.get(end), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, ReluGradSimd | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function reluGradFor(module: EmscriptenModuleLike): ReluGradSimd | null {
  return routineFor(cache, module, () => moduleBytes(4, reluGradBody()));
}
