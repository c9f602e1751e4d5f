import { body, I32, moduleBytes, op, routineFor, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * run(x, bias, out, rows, rowBytes): out = x + bias for each of `rows` rows of rowBytes bytes
 * (a multiple of 16), bias being one row; four lanes at a time.
 */
export type AddBias = (x: number, bias: number, out: number, rows: number, rowBytes: number) => void;

function addBiasBody(): number[] {
  const [x, bias, out, rows, rowBytes] = [0, 1, 2, 3, 4];
  const [at] = [5];
  const add = (local: number, by: number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  return body(
    [[1, I32]],
    [
      ...op.block,
      ...op.get(rows), ...op.i32Eqz, ...op.brIf(0),
      ...op.loop, // rows
      ...op.i32Const(0), ...op.set(at),
      ...op.loop, // four floats at a time
      ...op.get(out), ...op.get(at), ...op.i32Add,
      ...op.get(x), ...op.get(at), ...op.i32Add, ...op.v128Load,
      ...op.get(bias), ...op.get(at), ...op.i32Add, ...op.v128Load,
      ...op.f32x4Add,
      ...op.v128Store,
      ...add(at, op.i32Const(16)),
      ...op.get(at), ...op.get(rowBytes), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...add(x, op.get(rowBytes)),
      ...add(out, op.get(rowBytes)),
      ...op.get(rows), ...op.i32Const(1), ...op.i32Sub, ...op.tee(rows), ...op.brIf(0),
      ...op.end,
      ...op.end,
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, AddBias | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function addBiasFor(module: EmscriptenModuleLike): AddBias | null {
  return routineFor(cache, module, () => moduleBytes(5, addBiasBody()));
}
