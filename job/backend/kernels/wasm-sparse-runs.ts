import { body, F32, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * The sparse conv gradients' whole loop in WebAssembly, for unpadded convolutions, where every
 * run is a full filter row (kw · ci floats, a multiple of 4 here): no list of runs is built in
 * JavaScript. For each non-zero dy[b, oh, ow, co] = v and filter row fr, v times one run is added
 * to the other:
 *   image run:  [b, oh + fr, ow, 0] of an NHWC batch (dx, or the layer input x);
 *   filter run: [co, fr, 0, 0] of a [co, kh, kw, ci] array (the transposed filter, or dW's sums).
 * `toImage` (fixed when assembled) says which run is the destination: the input gradient adds
 * filter runs into dx, the filter gradient image runs into dW. Same order as the list form.
 *
 * run(dy, batches, rows, cols, channels, imageAt, filterAt, kh, vectors, imageRowBytes,
 *     imagePixelBytes, imageBatchBytes, filterChannelBytes, filterRowBytes)
 * `rows` × `cols` is dy's height × width, `channels` its depth; `vectors` = kw · ci / 4. All ≥ 1.
 */
export type SparseRuns = (
  dy: number,
  batches: number,
  rows: number,
  cols: number,
  channels: number,
  imageAt: number,
  filterAt: number,
  kh: number,
  vectors: number,
  imageRowBytes: number,
  imagePixelBytes: number,
  imageBatchBytes: number,
  filterChannelBytes: number,
  filterRowBytes: number,
) => void;

function sparseRunsBody(toImage: boolean): number[] {
  const [dy, batches, rows, cols, channels, imageAt, filterAt, kh, vectors] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [imageRowBytes, imagePixelBytes, imageBatchBytes, filterChannelBytes, filterRowBytes] = [9, 10, 11, 12, 13];
  const [b, r, s, c, fr, k, imageRow, imagePixel, filter, image, filterRun, dst, src] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const [v] = [27];
  const [vv] = [28];
  const add = (local: number, by: number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  const countDown = (local: number) => [...op.get(local), ...op.i32Const(1), ...op.i32Sub, ...op.tee(local), ...op.brIf(0)];
  return body(
    [
      [13, I32],
      [1, F32],
      [1, V128],
    ],
    [
      ...op.get(batches), ...op.set(b),
      ...op.loop, // images
      ...op.get(imageAt), ...op.set(imageRow),
      ...op.get(rows), ...op.set(r),
      ...op.loop, // dy rows
      ...op.get(imageRow), ...op.set(imagePixel),
      ...op.get(cols), ...op.set(s),
      ...op.loop, // dy columns
      ...op.get(filterAt), ...op.set(filter),
      ...op.get(channels), ...op.set(c),
      ...op.loop, // dy channels
      ...op.get(dy), ...op.f32Load(0), ...op.set(v),
      ...op.get(v), ...op.f32Const0, ...op.f32Ne,
      ...op.if,
      ...op.get(v), ...op.f32x4Splat, ...op.set(vv),
      ...op.get(imagePixel), ...op.set(image),
      ...op.get(filter), ...op.set(filterRun),
      ...op.get(kh), ...op.set(fr),
      ...op.loop, // filter rows
      ...op.get(toImage ? image : filterRun), ...op.set(dst),
      ...op.get(toImage ? filterRun : image), ...op.set(src),
      ...op.get(vectors), ...op.set(k),
      ...op.loop, // the run, four floats at a time
      ...op.get(dst),
      ...op.get(dst), ...op.v128Load,
      ...op.get(vv), ...op.get(src), ...op.v128Load, ...op.f32x4Mul,
      ...op.f32x4Add,
      ...op.v128Store,
      ...add(dst, op.i32Const(16)),
      ...add(src, op.i32Const(16)),
      ...countDown(k),
      ...op.end,
      ...add(image, op.get(imageRowBytes)),
      ...add(filterRun, op.get(filterRowBytes)),
      ...countDown(fr),
      ...op.end,
      ...op.end, // if
      ...add(dy, op.i32Const(4)),
      ...add(filter, op.get(filterChannelBytes)),
      ...countDown(c),
      ...op.end,
      ...add(imagePixel, op.get(imagePixelBytes)),
      ...countDown(s),
      ...op.end,
      ...add(imageRow, op.get(imageRowBytes)),
      ...countDown(r),
      ...op.end,
      ...add(imageAt, op.get(imageBatchBytes)),
      ...countDown(b),
      ...op.end,
    ],
  );
}

const caches = [new WeakMap<WebAssembly.Memory, SparseRuns | null>(), new WeakMap<WebAssembly.Memory, SparseRuns | null>()];

/** The routine adding into the image (`toImage`) or into the filter, bound to `module`'s memory. */
export function sparseRunsFor(module: EmscriptenModuleLike, toImage: boolean): SparseRuns | null {
  return routineFor(caches[toImage ? 1 : 0]!, module, () => moduleBytes(14, sparseRunsBody(toImage)));
}
