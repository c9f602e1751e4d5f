import { body, I32, moduleBytes, op, routineForKey, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * The filter gradient of an unpadded stride-1 convolution with one input channel, for one filter
 * row and 4 × `vectors` output channels at once, straight from NHWC dy (no transpose), in
 * WebAssembly SIMD:
 *   out[t, c] = Σ_{b, oh, ow} x[b, oh, ow + t] · dy[b, oh, ow, c]   for t < taps,
 * with x pointing at the input row the filter row meets first and dy at the first output channel
 * of the group. Lanes are output channels, so each sum runs in one lane, in (b, oh, ow) order:
 * deterministic, and no lanes to add up at the end.
 *
 * run(x, y, outer, inner, xInner, xOuter, yInner, yOuter, pixels, yPixel, out): `outer` images
 * of `inner` rows of `pixels` output pixels; rows advance by xInner / yInner bytes, images by
 * xOuter / yOuter from the image's first row, pixels by 4 bytes in x and yPixel in dy; out gets
 * taps × 4·vectors float32s. All counts ≥ 1.
 */
export type FilterPixels = (
  x: number,
  y: number,
  outer: number,
  inner: number,
  xInner: number,
  xOuter: number,
  yInner: number,
  yOuter: number,
  pixels: number,
  yPixel: number,
  out: number,
) => void;

/** v128 locals the routine may hold at once without spilling (x64 has 16 vector registers). */
const VECTOR_REGISTERS = 15;

/** Channel vectors per call for `taps` taps and `outChannels` (a multiple of 4), or 0 if none fit. */
export function vectorsPerCall(taps: number, outChannels: number): number {
  for (const v of [4, 3, 2, 1]) if (outChannels % (4 * v) === 0 && taps * v + v + 1 <= VECTOR_REGISTERS) return v;
  return 0;
}

function filterPixelsBody(taps: number, vectors: number): number[] {
  const [x, y, outer, inner, xInner, xOuter, yInner, yOuter, pixels, yPixel, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [j, xp, yp, k, xRow, yRow] = [11, 12, 13, 14, 15, 16];
  const acc = (t: number, v: number) => 17 + t * vectors + v;
  const yv = (v: number) => 17 + taps * vectors + v;
  const xs = 17 + taps * vectors + vectors;
  const add = (local: number, by: number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  const countDown = (local: number) => [...op.get(local), ...op.i32Const(1), ...op.i32Sub, ...op.tee(local), ...op.brIf(0)];
  const code: number[] = [
    ...op.loop, // images
    ...op.get(x), ...op.set(xRow),
    ...op.get(y), ...op.set(yRow),
    ...op.get(inner), ...op.set(j),
    ...op.loop, // rows
    ...op.get(xRow), ...op.set(xp),
    ...op.get(yRow), ...op.set(yp),
    ...op.get(pixels), ...op.set(k),
    ...op.loop, // pixels
  ];
  for (let v = 0; v < vectors; v++) code.push(...op.get(yp), ...op.v128LoadAt(16 * v), ...op.set(yv(v)));
  for (let t = 0; t < taps; t++) {
    code.push(...op.get(xp), ...op.v128Load32SplatAt(4 * t), ...op.set(xs));
    for (let v = 0; v < vectors; v++) {
      code.push(...op.get(acc(t, v)), ...op.get(xs), ...op.get(yv(v)), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(acc(t, v)));
    }
  }
  code.push(
    ...add(xp, op.i32Const(4)),
    ...add(yp, op.get(yPixel)),
    ...countDown(k),
    ...op.end,
    ...add(xRow, op.get(xInner)),
    ...add(yRow, op.get(yInner)),
    ...countDown(j),
    ...op.end,
    ...add(x, op.get(xOuter)),
    ...add(y, op.get(yOuter)),
    ...countDown(outer),
    ...op.end,
  );
  for (let t = 0; t < taps; t++) {
    for (let v = 0; v < vectors; v++) code.push(...op.get(out), ...op.get(acc(t, v)), ...op.v128StoreAt((t * vectors + v) * 16));
  }
  return body(
    [
      [6, I32],
      [taps * vectors + vectors + 1, V128],
    ],
    code,
  );
}

const caches = new Map<string, WeakMap<WebAssembly.Memory, FilterPixels | null>>();

/** The routine for `taps` × `vectors`, bound to `module`'s memory; null without WebAssembly SIMD. */
export function filterPixelsFor(module: EmscriptenModuleLike, taps: number, vectors: number): FilterPixels | null {
  return routineForKey(caches, `${taps}x${vectors}`, module, () => moduleBytes(11, filterPixelsBody(taps, vectors)));
}
