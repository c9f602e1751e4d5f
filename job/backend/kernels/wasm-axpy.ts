/**
 * A tiny WebAssembly SIMD routine that runs inside the tfjs wasm backend's own memory: for each
 * entry (v, src, dst, len) of a list, dst[0..len) += v · src[0..len) on float32s. JavaScript decides
 * what to add where; the routine does the arithmetic four lanes at a time, which JavaScript cannot
 * (V8 does not vectorise loops). The module is assembled here, byte by byte, because this project
 * has no wasm toolchain and a binary blob in the repository could not be reviewed.
 */

/** Bytes per list entry: f32 v, u32 src byte offset, u32 dst byte offset, u32 run length in floats. */
export const AXPY_ENTRY_BYTES = 16;

/** The parts of the tfjs wasm backend's Emscripten module this uses. */
export interface EmscriptenModuleLike {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPU8: Uint8Array;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  i32Const: (v: number) => [0x41, ...uleb(v)], // small non-negative values only (LEB of a signed number)
  i32Load: (offset: number) => [0x28, 2, offset],
  f32Load: (offset: number) => [0x2a, 2, offset],
  f32Store: [0x38, 2, 0],
  i32Add: [0x6a],
  i32Shl: [0x74],
  i32And: [0x71],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  f32Add: [0x92],
  f32Mul: [0x94],
  // SIMD: alignment hint 0, so unaligned addresses are fine.
  v128Load: [0xfd, 0x00, 0, 0],
  v128Store: [0xfd, 0x0b, 0, 0],
  f32x4Splat: [0xfd, 0x13],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
};

/** `axpy(list, count)`: params 0 list, 1 count; locals below. */
function axpyBody(): number[] {
  const [list, count, end, src, dst, vecEnd, runEnd, v, vv] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const code = [
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
    ...op.get(src), ...op.get(list), ...op.i32Load(12), ...[0x41, 0x7c], ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(vecEnd),
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
    ...op.end,
  ];
  const locals = [3, 5, I32, 1, F32, 1, V128];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

export function axpyModuleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('axpy'), 0x00, 0]),
    ...section(10, [1, ...axpyBody()]),
  ]);
}

const instances = new WeakMap<WebAssembly.Memory, (list: number, count: number) => void>();

/**
 * The routine bound to `module`'s memory, or null where this engine lacks WebAssembly SIMD (the
 * caller then keeps its other form). Compiled once per memory.
 */
export function axpyFor(module: EmscriptenModuleLike): ((list: number, count: number) => void) | null {
  const memory = module.asm.memory;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(axpyModuleBytes()), { env: { memory } });
    const axpy = instance.exports.axpy as (list: number, count: number) => void;
    instances.set(memory, axpy);
    return axpy;
  } catch {
    return null;
  }
}
