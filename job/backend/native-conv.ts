import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

/**
 * The optional native forward convolution (native/conv-forward.c, built by `npm ci` into
 * dist/native/ where a C compiler is present). It runs inside the wasm heap, in XNNPACK's order of
 * operations, so a run's floats are the same with or without it; it only makes the two forward
 * convolutions of a step several times faster where the CPU has wider vectors than WebAssembly's.
 * `MIXUP_NATIVE_CONV=off` turns it off.
 */
export interface NativeConv {
  /** The vector instructions the library picked at load: avx512f, avx2 or baseline. */
  readonly isa: string;
  conv2d(
    heap: ArrayBuffer,
    x: number, w: number, bias: number, out: number,
    n: number, h: number, width: number, c: number, kh: number, kw: number, f: number,
    relu: boolean,
  ): void;
}

export const NATIVE_CONV_ENV = 'MIXUP_NATIVE_CONV';
export const NATIVE_CONV_FILE = 'mixup-kernels.node';
/** Its key in metrics.json's backend versions. */
export const NATIVE_CONV_VERSION = 'mixup-native-conv';

// Where the build puts it, seen from job/backend (tsx) and from dist/job/backend (compiled).
const CANDIDATES = [`../../dist/native/${NATIVE_CONV_FILE}`, `../../native/${NATIVE_CONV_FILE}`];

let loaded: { conv: NativeConv | null; reason: string } | undefined;

function load(): { conv: NativeConv | null; reason: string } {
  const setting = process.env[NATIVE_CONV_ENV];
  if (setting !== undefined && setting !== 'on' && setting !== 'off' && setting !== 'auto') {
    // Read once per process; a typo must not silently change how fast a run goes.
    throw new UsageError(`${NATIVE_CONV_ENV} must be on, off or auto, got '${setting}'`);
  }
  if (setting === 'off') return { conv: null, reason: `${NATIVE_CONV_ENV}=off` };
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  for (const path of CANDIDATES) {
    try {
      const mod = require(path) as { conv2d: NativeConv['conv2d']; isa(): string };
      return { conv: { isa: mod.isa(), conv2d: mod.conv2d }, reason: '' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      reasons.push(code === 'MODULE_NOT_FOUND' ? `${path}: not built` : `${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (setting === 'on') throw new UsageError(`${NATIVE_CONV_ENV}=on but the native convolution does not load (${reasons.join('; ')}); run npm run build:native`);
  return { conv: null, reason: reasons.join('; ') };
}

/** The native convolution, or null where it is not built, does not load, or is turned off. */
export function nativeConv(): NativeConv | null {
  loaded ??= load();
  return loaded.conv;
}

/** Why nativeConv() is null (empty when it loaded). */
export function nativeConvAbsence(): string {
  loaded ??= load();
  return loaded.reason;
}
