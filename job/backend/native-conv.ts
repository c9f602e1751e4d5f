import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

/**
 * The optional native convolutions (native/*.c, built by `npm ci` into dist/native/ where a C
 * compiler is present): the forward convolution in XNNPACK's order of operations, and the
 * gradients in the order of this project's own WebAssembly routines. They run inside the wasm heap,
 * so a run's floats are the same with or without them; they only make the convolutions of a step
 * several times faster where the CPU has wider vectors than WebAssembly's.
 * `MIXUP_NATIVE_CONV` is `auto` (the widest instructions the CPU has, if AVX2 or wider: x86 only),
 * `off`, `on` (fail where it does not load), or one of NATIVE_ISAS to pick the instructions (how the
 * narrower forms are tested). `baseline` is the portable form: SSE2 on x86-64, NEON on aarch64.
 * Each function takes the heap and byte offsets into it; the caller checks shapes and coverage.
 */
export interface NativeConv {
  /** The vector instructions it runs on. */
  readonly isa: NativeIsa;
  /** The forward convolution (stride 1, no padding, f a multiple of 16), bias −1 for none. */
  conv2d(
    heap: ArrayBuffer,
    x: number, w: number, bias: number, out: number,
    n: number, h: number, width: number, c: number, kh: number, kw: number, f: number,
    relu: boolean,
  ): void;
  /** The filter gradient of a one-channel input, dense (wasm-filter-pixels.ts' sums); co a multiple of 16. */
  filterGrad1ch(heap: ArrayBuffer, x: number, dy: number, out: number, n: number, h: number, width: number, kh: number, kw: number, co: number): void;
  /** The filter gradient from dy's non-zeros (wasm-sparse-runs.ts' sums), out [kh, kw, ci, co]; kw · ci a multiple of 16. */
  sparseFilterGrad(
    heap: ArrayBuffer, x: number, dy: number, out: number,
    n: number, h: number, width: number, ci: number, kh: number, kw: number, co: number,
  ): void;
  /** The input gradient from dy's non-zeros (wasm-sparse-runs.ts' sums), dx written whole; kw · ci a multiple of 16. */
  sparseInputGrad(
    heap: ArrayBuffer, filter: number, dy: number, dx: number,
    n: number, h: number, width: number, ci: number, kh: number, kw: number, co: number,
  ): void;
  // The element-wise kernels around the convolutions (native/elementwise.c); c a multiple of 16.
  /** ReLU as XNNPACK computes it (the integer maximum with 0). */
  relu(heap: ArrayBuffer, x: number, out: number, count: number): void;
  /** dx = dy where x > 0, else +0 (wasm-relu-grad.ts). */
  reluGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, count: number): void;
  /** out = x + bias, row by row (wasm-add-bias.ts). */
  addBias(heap: ArrayBuffer, x: number, bias: number, out: number, rows: number, c: number): void;
  /** acc [blockRows, c] = x's rows added block by block from +0 (sum.ts' block sums). */
  sumBlocks(heap: ArrayBuffer, x: number, acc: number, rows: number, c: number, blockRows: number): void;
  /** 2×2 max-pooling at stride 2, no padding, as XNNPACK computes it on an x86 host. */
  maxPool(heap: ArrayBuffer, x: number, out: number, n: number, h: number, width: number, c: number): void;
  /** MaxPoolGrad for 2×2 windows at stride 2 (wasm-max-pool-grad.ts). */
  maxPoolGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, n: number, h: number, width: number, c: number): void;
}

/** Narrowest first, as the library numbers them. */
export const NATIVE_ISAS = ['baseline', 'avx2', 'avx512f'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

export const NATIVE_CONV_ENV = 'MIXUP_NATIVE_CONV';
/** What MIXUP_NATIVE_CONV may say (job/config.ts checks it with the other settings, before anything is written). */
export const NATIVE_CONV_SETTINGS: readonly string[] = ['auto', 'on', 'off', ...NATIVE_ISAS];
export const NATIVE_CONV_FILE = 'mixup-kernels.node';
/** Its key in metrics.json's backend versions. */
export const NATIVE_CONV_VERSION = 'mixup-native-conv';

// Where the build puts it, seen from job/backend (tsx) and from dist/job/backend (compiled).
const CANDIDATES = [`../../dist/native/${NATIVE_CONV_FILE}`, `../../native/${NATIVE_CONV_FILE}`];

type WithIsa<F extends (...args: never[]) => void> = (...args: [...Parameters<F>, isa: number]) => void;

/** What the addon exports (native/addon.c); relu is passed as 0 or 1. */
interface Library {
  isas(): string[];
  conv2d(
    heap: ArrayBuffer,
    x: number, w: number, bias: number, out: number,
    n: number, h: number, width: number, c: number, kh: number, kw: number, f: number,
    relu: number, isa: number,
  ): void;
  conv2dFilterGrad1ch: WithIsa<NativeConv['filterGrad1ch']>;
  conv2dSparseFilterGrad: WithIsa<NativeConv['sparseFilterGrad']>;
  conv2dSparseInputGrad: WithIsa<NativeConv['sparseInputGrad']>;
  relu: WithIsa<NativeConv['relu']>;
  reluGrad: WithIsa<NativeConv['reluGrad']>;
  addBias: WithIsa<NativeConv['addBias']>;
  sumBlocks: WithIsa<NativeConv['sumBlocks']>;
  maxPool: WithIsa<NativeConv['maxPool']>;
  maxPoolGrad: WithIsa<NativeConv['maxPoolGrad']>;
}

const LIBRARY_FUNCTIONS = [
  'isas', 'conv2d', 'conv2dFilterGrad1ch', 'conv2dSparseFilterGrad', 'conv2dSparseInputGrad',
  'relu', 'reluGrad', 'addBias', 'sumBlocks', 'maxPool', 'maxPoolGrad',
] as const;

export interface NativeConvLoad {
  readonly conv: NativeConv | null;
  /** Why `conv` is null; empty when it loaded. */
  readonly reason: string;
  /** What this CPU can run it on (empty where it does not load). */
  readonly available: readonly NativeIsa[];
}

/** Why a MIXUP_NATIVE_CONV value is refused, or null when it is one of NATIVE_CONV_SETTINGS (or unset). */
export function nativeConvSettingProblem(setting: string | undefined): string | null {
  if (setting === undefined || NATIVE_CONV_SETTINGS.includes(setting)) return null;
  return `${NATIVE_CONV_ENV} must be one of ${NATIVE_CONV_SETTINGS.join(', ')}, got '${setting}'`;
}

/** Loads the library for a MIXUP_NATIVE_CONV setting (undefined: auto). A bad setting is a UsageError. */
export function loadNativeConv(setting: string | undefined): NativeConvLoad {
  const problem = nativeConvSettingProblem(setting);
  if (problem !== null) throw new UsageError(problem);
  if (setting === 'off') return { conv: null, reason: `${NATIVE_CONV_ENV}=off`, available: [] };
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  let library: Library | undefined;
  for (const path of CANDIDATES) {
    try {
      const loaded = require(path) as Partial<Library>;
      const lacking = LIBRARY_FUNCTIONS.filter((name) => typeof loaded[name] !== 'function');
      if (lacking.length > 0) {
        reasons.push(`${path}: built from older sources (no ${lacking.join(', ')})`);
        continue;
      }
      library = loaded as Library;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      reasons.push(code === 'MODULE_NOT_FOUND' ? `${path}: not built` : `${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (library === undefined) {
    if (setting !== undefined && setting !== 'auto') {
      throw new UsageError(`${NATIVE_CONV_ENV}=${setting} but the native convolution does not load (${reasons.join('; ')}); run npm run build:native`);
    }
    return { conv: null, reason: reasons.join('; '), available: [] };
  }
  const available = library.isas() as NativeIsa[];
  if ((setting === undefined || setting === 'auto') && available.length < 2) {
    // 128-bit vectors are WebAssembly's own width: XNNPACK is as fast there on x86 (bench:kernels).
    // On aarch64 the portable form is NEON, also 128 bits; not measured on arm64 hardware, so it is
    // not chosen unasked (`on` or `baseline` use it, to the same floats).
    const why = process.arch === 'x64' || process.arch === 'ia32'
      ? 'this CPU has neither AVX2 nor AVX-512'
      : `${process.arch} has 128-bit vectors only, WebAssembly's own width (${NATIVE_CONV_ENV}=on uses the native form anyway)`;
    return { conv: null, reason: `${why}, so wasm runs the convolutions`, available };
  }
  const isa = setting === undefined || setting === 'auto' || setting === 'on' ? available[available.length - 1]! : (setting as NativeIsa);
  if (!available.includes(isa)) {
    throw new UsageError(`${NATIVE_CONV_ENV}=${setting}: this CPU runs the native convolution on ${available.join(', ')} only`);
  }
  const level = NATIVE_ISAS.indexOf(isa);
  const lib = library;
  return {
    conv: {
      isa,
      conv2d: (heap, x, w, bias, out, n, h, width, c, kh, kw, f, relu) =>
        lib.conv2d(heap, x, w, bias, out, n, h, width, c, kh, kw, f, relu ? 1 : 0, level),
      filterGrad1ch: (...args) => lib.conv2dFilterGrad1ch(...args, level),
      sparseFilterGrad: (...args) => lib.conv2dSparseFilterGrad(...args, level),
      sparseInputGrad: (...args) => lib.conv2dSparseInputGrad(...args, level),
      relu: (...args) => lib.relu(...args, level),
      reluGrad: (...args) => lib.reluGrad(...args, level),
      addBias: (...args) => lib.addBias(...args, level),
      sumBlocks: (...args) => lib.sumBlocks(...args, level),
      maxPool: (...args) => lib.maxPool(...args, level),
      maxPoolGrad: (...args) => lib.maxPoolGrad(...args, level),
    },
    reason: '',
    available,
  };
}

let loaded: NativeConvLoad | undefined;

/** The process's load, from MIXUP_NATIVE_CONV, read once. */
function current(): NativeConvLoad {
  loaded ??= loadNativeConv(process.env[NATIVE_CONV_ENV]);
  return loaded;
}

/** The native convolution for this process, or null where it is not built, does not load, or is off. */
export function nativeConv(): NativeConv | null {
  return current().conv;
}

/** Why nativeConv() is null (empty when it loaded). */
export function nativeConvAbsence(): string {
  return current().reason;
}
