import { body, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * run(value, m, v, g, outValue, outM, outV, count, ...scalars): the Adam update of `adam.ts` on
 * `count` floats (a multiple of 4) at the given byte addresses, four lanes at a time. The four
 * scalars (1−β₁, 1−β₂, ε, α) come as their float32 bit patterns, because the routines take i32
 * parameters. WebAssembly's f32x4 add, sub, mul, div and sqrt are IEEE operations, correctly rounded
 * like the scalar ones, so the lanes give the same floats as the scalar loop.
 */
export type AdamSimd = (
  value: number, m: number, v: number, g: number, outValue: number, outM: number, outV: number, count: number,
  ...scalarBits: number[]
) => void;

/** Parameters: seven addresses, the count, four scalars. */
const PARAMS = 12;

function adamBody(): number[] {
  const [value, m, v, g, outValue, outM, outV, count] = [0, 1, 2, 3, 4, 5, 6, 7];
  const firstScalar = 8;
  const [offset, end] = [12, 13];
  // v128 locals: the four splatted scalars, then m, v, the gradient and the new moments.
  const [omb1, omb2, eps, alpha, mv, vv, gv, newM, newV] = [14, 15, 16, 17, 18, 19, 20, 21, 22];
  const at = (base: number) => [...op.get(base), ...op.get(offset), ...op.i32Add];
  return body(
    [
      [2, I32],
      [9, V128],
    ],
    [
      ...[omb1, omb2, eps, alpha].flatMap((local, k) => [
        ...op.get(firstScalar + k), ...op.f32ReinterpretI32, ...op.f32x4Splat, ...op.set(local),
      ]),
      ...op.get(count), ...op.i32Const(2), ...op.i32Shl, ...op.set(end),
      ...op.block,
      ...op.get(offset), ...op.get(end), ...op.i32GeU, ...op.brIf(0),
      ...op.loop,
      ...at(g), ...op.v128Load, ...op.set(gv),
      ...at(m), ...op.v128Load, ...op.set(mv),
      ...at(v), ...op.v128Load, ...op.set(vv),
      // m' = m + (g − m)·(1−β₁)
      ...op.get(mv),
      ...op.get(gv), ...op.get(mv), ...op.f32x4Sub, ...op.get(omb1), ...op.f32x4Mul,
      ...op.f32x4Add, ...op.set(newM),
      // v' = v + (g·g − v)·(1−β₂)
      ...op.get(vv),
      ...op.get(gv), ...op.get(gv), ...op.f32x4Mul, ...op.get(vv), ...op.f32x4Sub, ...op.get(omb2), ...op.f32x4Mul,
      ...op.f32x4Add, ...op.set(newV),
      ...at(outM), ...op.get(newM), ...op.v128Store,
      ...at(outV), ...op.get(newV), ...op.v128Store,
      // value' = value − (m'·α) / (√v' + ε)
      ...at(outValue),
      ...at(value), ...op.v128Load,
      ...op.get(newM), ...op.get(alpha), ...op.f32x4Mul,
      ...op.get(newV), ...op.f32x4Sqrt, ...op.get(eps), ...op.f32x4Add,
      ...op.f32x4Div,
      ...op.f32x4Sub,
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
