import { body, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * run(value, m, v, g, outValue, outM, outV, count, ...scalars): the Adam update of `adam.ts` on
 * `count` floats (a multiple of 4) at the given byte addresses, four lanes at a time. The eight
 * scalars (β₁, 1−β₁, β₂, 1−β₂, ε, −lr, 1−β₁ᵗ, 1−β₂ᵗ) come as their float32 bit patterns, because
 * the routines take i32 parameters. WebAssembly's f32x4 add, mul, div and sqrt are IEEE
 * operations, correctly rounded like the scalar ones, so the lanes give the stock chain's floats.
 */
export type AdamSimd = (
  value: number, m: number, v: number, g: number, outValue: number, outM: number, outV: number, count: number,
  ...scalarBits: number[]
) => void;

/** Parameters: seven addresses, the count, eight scalars. */
const PARAMS = 16;

function adamBody(): number[] {
  const [value, m, v, g, outValue, outM, outV, count] = [0, 1, 2, 3, 4, 5, 6, 7];
  const firstScalar = 8;
  const [offset, end] = [16, 17];
  // v128 locals: the eight splatted scalars, then the gradient and the new moments.
  const [b1, omb1, b2, omb2, eps, negLr, oma1, oma2, gv, newM, newV] = [18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
  const at = (base: number) => [...op.get(base), ...op.get(offset), ...op.i32Add];
  return body(
    [
      [2, I32],
      [11, V128],
    ],
    [
      ...[b1, omb1, b2, omb2, eps, negLr, oma1, oma2].flatMap((local, k) => [
        ...op.get(firstScalar + k), ...op.f32ReinterpretI32, ...op.f32x4Splat, ...op.set(local),
      ]),
      ...op.get(count), ...op.i32Const(2), ...op.i32Shl, ...op.set(end),
      ...op.block,
      ...op.get(offset), ...op.get(end), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...at(g), ...op.v128Load, ...op.set(gv),
      // m' = m·β₁ + g·(1−β₁)
      ...at(m), ...op.v128Load, ...op.get(b1), ...op.f32x4Mul,
      ...op.get(gv), ...op.get(omb1), ...op.f32x4Mul,
      ...op.f32x4Add, ...op.set(newM),
      // v' = v·β₂ + (g·g)·(1−β₂)
      ...at(v), ...op.v128Load, ...op.get(b2), ...op.f32x4Mul,
      ...op.get(gv), ...op.get(gv), ...op.f32x4Mul, ...op.get(omb2), ...op.f32x4Mul,
      ...op.f32x4Add, ...op.set(newV),
      ...at(outM), ...op.get(newM), ...op.v128Store,
      ...at(outV), ...op.get(newV), ...op.v128Store,
      // value' = ((m'/(1−β₁ᵗ)) / (√(v'/(1−β₂ᵗ)) + ε))·(−lr) + value
      ...at(outValue),
      ...op.get(newM), ...op.get(oma1), ...op.f32x4Div,
      ...op.get(newV), ...op.get(oma2), ...op.f32x4Div, ...op.f32x4Sqrt, ...op.get(eps), ...op.f32x4Add,
      ...op.f32x4Div,
      ...op.get(negLr), ...op.f32x4Mul,
      ...at(value), ...op.v128Load,
      ...op.f32x4Add,
      ...op.v128Store,
      ...op.get(offset), ...op.i32Const(16), ...op.i32Add, ...op.tee(offset),
      ...op.get(end), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      ...op.end,
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, AdamSimd | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function adamFor(module: EmscriptenModuleLike): AdamSimd | null {
  return routineFor(cache, module, () => moduleBytes(PARAMS, adamBody()));
}
