/**
 * A minimal WebAssembly assembler: enough to write small SIMD routines that run inside the tfjs
 * wasm backend's own memory (imported as env.memory), so they read and write tensors in place.
 * Routines are assembled here, byte by byte, because this project has no wasm toolchain and a
 * binary blob in the repository could not be reviewed.
 */

/** The parts of the tfjs wasm backend's Emscripten module the routines use. */
export interface EmscriptenModuleLike {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPU8: Uint8Array;
}

export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128, what i32.const takes (0x40 alone would read as −64). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  if: [0x04, 0x40],
  f32Const0: [0x43, 0, 0, 0, 0],
  f32Ne: [0x5c],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Load: (offset: number) => [0x28, 2, offset],
  f32Load: (offset: number) => [0x2a, 2, offset],
  f32Store: [0x38, 2, 0],
  f32StoreAt: (offset: number) => [0x38, 2, ...uleb(offset)],
  i32Eqz: [0x45],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Sub: [0x6b],
  i32Shl: [0x74],
  i32And: [0x71],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  f32Add: [0x92],
  i32Ne: [0x47],
  f32Mul: [0x94],
  // SIMD: alignment hint 0, so unaligned addresses are fine.
  v128Load: [0xfd, 0x00, 0, 0],
  v128LoadAt: (offset: number) => [0xfd, 0x00, 0, ...uleb(offset)],
  v128Store: [0xfd, 0x0b, 0, 0],
  v128StoreAt: (offset: number) => [0xfd, 0x0b, 0, ...uleb(offset)],
  v128Load32SplatAt: (offset: number) => [0xfd, 0x09, 0, ...uleb(offset)],
  f32x4Splat: [0xfd, 0x13],
  f32x4ExtractLane: (lane: number) => [0xfd, 0x1f, lane],
  f32x4Eq: [0xfd, 0x41],
  f32x4Gt: [0xfd, 0x44],
  v128And: [0xfd, 0x4e],
  v128AndNot: [0xfd, 0x4f],
  v128Or: [0xfd, 0x50],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Sub: [0xfd, 0xe5, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  f32x4Max: [0xfd, 0xe9, 0x01],
  f32x4Sqrt: [0xfd, 0xe3, 0x01],
  f32x4Div: [0xfd, 0xe7, 0x01],
  f32ReinterpretI32: [0xbe],
  f32x4Ne: [0xfd, 0x42],
  i32x4Add: [0xfd, 0xae, 0x01],
  i32x4ExtractLane: (lane: number) => [0xfd, 0x1b, lane],
};

/** A function body: local declarations as (count, type) pairs, then the code. */
export function body(locals: [number, number][], code: number[]): number[] {
  const declared = [...uleb(locals.length), ...locals.flat()];
  const bytes = [...declared, ...code, ...op.end];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * A module importing env.memory and exporting one function `run` of `params` i32 parameters and
 * the given results.
 */
export function moduleBytes(params: number, functionBody: number[], results: number[] = []): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, ...uleb(params), ...new Array<number>(params).fill(I32), ...uleb(results.length), ...results]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('run'), 0x00, 0]),
    ...section(10, [1, ...functionBody]),
  ]);
}

/** The wasm backend's Emscripten module, whose memory the routines run in. */
export function wasmModuleOf(backend: object): EmscriptenModuleLike {
  return (backend as { wasm: EmscriptenModuleLike }).wasm;
}

/** `routineFor` for routines generated per shape: one cache per `key`. */
export function routineForKey<F>(
  caches: Map<string, WeakMap<WebAssembly.Memory, F | null>>,
  key: string,
  module: EmscriptenModuleLike,
  bytes: () => Uint8Array<ArrayBuffer>,
): F | null {
  let cache = caches.get(key);
  if (cache === undefined) caches.set(key, (cache = new WeakMap()));
  return routineFor(cache, module, bytes);
}

/**
 * `bytes`' `run`, bound to `module`'s memory and cached per memory, or null where this engine
 * lacks WebAssembly SIMD (callers then keep their other form).
 */
export function routineFor<F>(cache: WeakMap<WebAssembly.Memory, F | null>, module: EmscriptenModuleLike, bytes: () => Uint8Array<ArrayBuffer>): F | null {
  // The module's exported memory (Emscripten's `asm`); absent in another build, whose callers then
  // keep their other forms.
  const memory = (module as Partial<EmscriptenModuleLike>).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (cache.has(memory)) return cache.get(memory)!;
  let routine: F | null;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes()), { env: { memory } });
    routine = instance.exports.run as F;
  } catch {
    routine = null;
  }
  cache.set(memory, routine);
  return routine;
}
