import { body, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * run(values, count) → how many of the `count` floats (a multiple of 4) at byte address `values`
 * are not zero (−0 counts as zero, NaN as non-zero, as `x !== 0` in JavaScript). Four lanes at a
 * time: f32x4.ne gives −1 per non-zero lane, and the lanes' sums are negated at the end.
 */
export type NonZeroSimd = (values: number, count: number) => number;

function nonZeroBody(): number[] {
  const [values, count] = [0, 1];
  const [end] = [2];
  const [zero, sums] = [3, 4]; // wasm locals start at zero
  return body(
    [
      [1, I32],
      [2, V128],
    ],
    [
      ...op.get(values), ...op.get(count), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(end),
      ...op.block,
      ...op.get(values), ...op.get(end), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...op.get(sums),
      ...op.get(values), ...op.v128Load, ...op.get(zero), ...op.f32x4Ne,
      ...op.i32x4Add, ...op.set(sums),
      ...op.get(values), ...op.i32Const(16), ...op.i32Add, ...op.tee(values),
      ...op.get(end), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
      ...op.i32Const(0),
      ...[0, 1, 2, 3].flatMap((lane) => [...op.get(sums), ...op.i32x4ExtractLane(lane), ...op.i32Sub]),
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, NonZeroSimd | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function nonZeroFor(module: EmscriptenModuleLike): NonZeroSimd | null {
  return routineFor(cache, module, () => moduleBytes(2, nonZeroBody(), [I32]));
}
