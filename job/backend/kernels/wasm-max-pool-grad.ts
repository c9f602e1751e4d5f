import { body, I32, moduleBytes, op, routineFor, V128, type EmscriptenModuleLike } from './wasm-asm.js';

/**
 * MaxPoolGrad for 2×2 windows at stride 2, one output row per call, four channels at a time, in
 * WebAssembly SIMD over the backend's memory: no branches, so the data-dependent choice of the
 * maximum (a coin flip after ReLU) costs no mispredictions. For each window: m = the maximum of
 * its four values; the gradient goes to the first position equal to m, in row-major window order
 * (the stock cpu kernel's tie rule), and zeros to the other three, so dx needs no zero fill.
 * Where a window holds NaN, all four get zero.
 *
 * run(x, g, delta, windows, channelBytes, rowBytes): x is the byte address of the window row's
 * top-left input value, g of its gradient row, delta the distance from x to dx (same layout).
 */
export type MaxPoolGradRow = (
  x: number,
  g: number,
  delta: number,
  windows: number,
  channelBytes: number,
  rowBytes: number,
) => void;

function maxPoolGradRowBody(): number[] {
  const [a, g, delta, windows, cBytes, rowBytes] = [0, 1, 2, 3, 4, 5];
  const [laneEnd] = [6];
  const [v00, v01, v10, v11, m, n, e, gv] = [7, 8, 9, 10, 11, 12, 13, 14];
  /** Pushes a + offsets… (locals). */
  const address = (...offsets: number[]) => [...op.get(a), ...offsets.flatMap((o) => [...op.get(o), ...op.i32Add])];
  /** Stores gv & e at a + offsets + delta. */
  const storeMasked = (...offsets: number[]) => [
    ...address(...offsets, delta),
    ...op.get(gv), ...op.get(e), ...op.v128And,
    ...op.v128Store,
  ];
  return body(
    [
      [1, I32],
      [8, V128],
    ],
    [
      ...op.block,
      ...op.get(windows), ...op.i32Eqz, ...op.brIf(0),
      ...op.loop, // windows
      ...address(cBytes), ...op.set(laneEnd),
      ...op.loop, // four channels at a time
      ...address(), ...op.v128Load, ...op.set(v00),
      ...address(cBytes), ...op.v128Load, ...op.set(v01),
      ...address(rowBytes), ...op.v128Load, ...op.set(v10),
      ...address(rowBytes, cBytes), ...op.v128Load, ...op.set(v11),
      ...op.get(v00), ...op.get(v01), ...op.f32x4Max,
      ...op.get(v10), ...op.get(v11), ...op.f32x4Max,
      ...op.f32x4Max, ...op.set(m),
      ...op.get(g), ...op.v128Load, ...op.set(gv),
      ...op.get(v00), ...op.get(m), ...op.f32x4Eq, ...op.tee(e), ...op.set(n),
      ...storeMasked(),
      ...op.get(v01), ...op.get(m), ...op.f32x4Eq, ...op.get(n), ...op.v128AndNot, ...op.tee(e),
      ...op.get(n), ...op.v128Or, ...op.set(n),
      ...storeMasked(cBytes),
      ...op.get(v10), ...op.get(m), ...op.f32x4Eq, ...op.get(n), ...op.v128AndNot, ...op.tee(e),
      ...op.get(n), ...op.v128Or, ...op.set(n),
      ...storeMasked(rowBytes),
      ...op.get(v11), ...op.get(m), ...op.f32x4Eq, ...op.get(n), ...op.v128AndNot, ...op.set(e),
      ...storeMasked(rowBytes, cBytes),
      ...op.get(a), ...op.i32Const(16), ...op.i32Add, ...op.set(a),
      ...op.get(g), ...op.i32Const(16), ...op.i32Add, ...op.set(g),
      ...op.get(a), ...op.get(laneEnd), ...op.i32LtU, ...op.brIf(0),
      ...op.end,
      // past the window's second column
      ...op.get(a), ...op.get(cBytes), ...op.i32Add, ...op.set(a),
      ...op.get(windows), ...op.i32Const(1), ...op.i32Sub, ...op.tee(windows),
      ...op.brIf(0),
      ...op.end,
      ...op.end,
    ],
  );
}

const cache = new WeakMap<WebAssembly.Memory, MaxPoolGradRow | null>();

/** The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD. */
export function maxPoolGradRowFor(module: EmscriptenModuleLike): MaxPoolGradRow | null {
  return routineFor(cache, module, () => moduleBytes(6, maxPoolGradRowBody()));
}
