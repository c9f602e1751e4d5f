import { body, I32, moduleBytes, op, routineForKey, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * The filter gradient of an unpadded stride-1 convolution for one filter row and input channel
 * and `channels` output channels at once, as image rows against image rows, in WebAssembly SIMD:
 *   out[t, c] = Σ_{b, oh} Σ_ow x[b, oh, ow + t] · y[b, c, oh, ow]   for t < taps, c < channels,
 * where x points at the input row the filter row meets first and y at dy transposed to
 * [b, co, oh, ow]. Every x vector loaded serves all `channels`, every y vector all `taps`, and the
 * taps × channels sums stay in registers: ~2.5 times fewer instructions per multiply-add than one
 * dot product at a time. Lanes accumulate separately and are added at the end: a fixed order.
 *
 * run(x, y, outer, inner, xInner, xOuter, yInner, yOuter, vectors, yChannel, out): `outer`
 * images of `inner` rows; rows advance by xInner / yInner bytes, images by xOuter / yOuter from the
 * image's first row; `vectors` × 4 = ow; output channels lie yChannel bytes apart in y; out gets
 * taps × channels float32s. All counts ≥ 1.
 */
export type FilterRows = (
  x: number,
  y: number,
  outer: number,
  inner: number,
  xInner: number,
  xOuter: number,
  yInner: number,
  yOuter: number,
  vectors: number,
  yChannel: number,
  out: number,
) => void;

/** v128 locals the routine may hold at once without spilling (x64 has 16 vector registers). */
const VECTOR_REGISTERS = 15;

/** Output channels per call for `taps` taps: the most that divide `outChannels` and fit in registers. */
export function channelsPerCall(taps: number, outChannels: number): number {
  for (const c of [4, 3, 2]) if (outChannels % c === 0 && taps * c + c + 1 <= VECTOR_REGISTERS) return c;
  return 1;
}

function filterRowsBody(taps: number, channels: number): number[] {
  const [x, y, outer, inner, xInner, xOuter, yInner, yOuter, vectors, yChannel, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [j, xp, yp, k, xRow, yRow] = [11, 12, 13, 14, 15, 16];
  const channelOffset = (c: number) => 17 + c; // i32: c · yChannel
  const i32Locals = 6 + channels;
  const acc = (t: number, c: number) => 11 + i32Locals + t * channels + c;
  const yv = (c: number) => 11 + i32Locals + taps * channels + c;
  const xv = 11 + i32Locals + taps * channels + channels;
  const add = (local: number, by: number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  const countDown = (local: number) => [...op.get(local), ...op.i32Const(1), ...op.i32Sub, ...op.tee(local), ...op.brIf(0)];
  const code: number[] = [];
  for (let c = 1; c < channels; c++) {
    code.push(...op.get(yChannel), ...op.i32Const(c), ...op.i32Mul, ...op.set(channelOffset(c)));
  }
  code.push(
    ...op.loop, // images
    ...op.get(x), ...op.set(xRow),
    ...op.get(y), ...op.set(yRow),
    ...op.get(inner), ...op.set(j),
    ...op.loop, // rows
    ...op.get(xRow), ...op.set(xp),
    ...op.get(yRow), ...op.set(yp),
    ...op.get(vectors), ...op.set(k),
    ...op.loop, // four output columns at a time
  );
  for (let c = 0; c < channels; c++) {
    code.push(...op.get(yp), ...(c === 0 ? [] : [...op.get(channelOffset(c)), ...op.i32Add]), ...op.v128Load, ...op.set(yv(c)));
  }
  for (let t = 0; t < taps; t++) {
    code.push(...op.get(xp), ...op.v128LoadAt(4 * t), ...op.set(xv));
    for (let c = 0; c < channels; c++) {
      code.push(...op.get(acc(t, c)), ...op.get(xv), ...op.get(yv(c)), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(acc(t, c)));
    }
  }
  code.push(
    ...add(xp, op.i32Const(16)),
    ...add(yp, op.i32Const(16)),
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
    for (let c = 0; c < channels; c++) {
      code.push(
        ...op.get(out),
        ...op.get(acc(t, c)), ...op.f32x4ExtractLane(0),
        ...op.get(acc(t, c)), ...op.f32x4ExtractLane(1), ...op.f32Add,
        ...op.get(acc(t, c)), ...op.f32x4ExtractLane(2), ...op.f32Add,
        ...op.get(acc(t, c)), ...op.f32x4ExtractLane(3), ...op.f32Add,
        ...op.f32StoreAt((t * channels + c) * 4),
      );
    }
  }
  return body(
    [
      [i32Locals, I32],
      [taps * channels + channels + 1, V128],
    ],
    code,
  );
}

const caches = new Map<string, WeakMap<WebAssembly.Memory, FilterRows | null>>();

/** The routine for `taps` × `channels`, bound to `module`'s memory; null without WebAssembly SIMD. */
export function filterRowsFor(module: EmscriptenModuleLike, taps: number, channels: number): FilterRows | null {
  return routineForKey(caches, `${taps}x${channels}`, module, () => moduleBytes(11, filterRowsBody(taps, channels)));
}

