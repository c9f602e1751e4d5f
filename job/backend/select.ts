import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { JobError } from '../errors.js';
import { registerCustomKernels } from './kernels.js';
import { NATIVE_CONV_VERSION, nativeConv } from './native-conv.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface SelectedBackend {
  readonly backend: BackendName;
  /** The npm package that provides the backend; null for `cpu`, which ships inside @tensorflow/tfjs. */
  readonly package: string | null;
  readonly versions: Record<string, string | null>;
  /** Why each better backend did not start (e.g. tfjs-node-gpu: libcudart.so.11.0 missing); empty when the first one did. */
  readonly failures: readonly string[];
}

/** Native TensorFlow bindings, best first. Both are optional: absent, or present but unloadable. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
/** A failed wasm start can carry the whole minified module in its message; keep what a person reads. */
const MAX_REASON_CHARS = 300;

const require = createRequire(import.meta.url);

/** Loads a native binding package (which registers the `tensorflow` backend); tests pass a fake one. */
export type NativeLoader = (pkg: string) => Promise<{ version?: Record<string, string> }>;

const importPackage: NativeLoader = async (pkg) => {
  // A variable specifier: the packages are optional and have no types in this project.
  const specifier: string = pkg;
  return (await import(specifier)) as { version?: Record<string, string> };
};

/**
 * Selects and initialises the tfjs backend. `auto` tries tfjs-node-gpu, tfjs-node, wasm, then cpu;
 * an explicit choice that cannot start is a JobError. Custom kernels are registered for wasm and cpu.
 */
export async function initBackend(choice: BackendChoice, loadNative: NativeLoader = importPackage): Promise<SelectedBackend> {
  const failures: string[] = [];
  if (choice === 'auto' || choice === 'tensorflow') {
    for (const pkg of NATIVE_PACKAGES) {
      const version = await tryNative(pkg, loadNative, failures);
      if (version !== null) return { backend: 'tensorflow', package: pkg, versions: versionsWith(pkg, version), failures };
    }
    if (choice === 'tensorflow') {
      throw new JobError(
        `backend 'tensorflow' needs ${NATIVE_PACKAGES.join(' or ')}, and neither loads here (${failures.join('; ')}); ` +
          `install one of them, or run with --backend wasm`,
      );
    }
  }
  if (choice === 'auto' || choice === 'wasm') {
    const failure = await trySetBackend('wasm', pointWasmAtItsBinaries);
    if (failure === null) {
      registerCustomKernels('wasm');
      // Which vector instructions the native convolution runs on, or null where wasm does it all.
      const versions = { ...versionsWith(WASM_PACKAGE, version_wasm), [NATIVE_CONV_VERSION]: nativeConv()?.isa ?? null };
      return { backend: 'wasm', package: WASM_PACKAGE, versions, failures };
    }
    if (choice === 'wasm') throw new JobError(`backend 'wasm' failed to start: ${failure}; try --backend cpu`);
    failures.push(`wasm: ${failure}`);
  }
  const failure = await trySetBackend('cpu');
  if (failure !== null) throw new JobError(`backend 'cpu' failed to start: ${failure} (earlier: ${failures.join('; ')})`);
  registerCustomKernels('cpu');
  return { backend: 'cpu', package: null, versions: versionsWith(null, null), failures };
}

let wasmPathsSet = false;

/**
 * The binaries' directory, resolved from this module, so that the backend finds them wherever
 * node_modules is (a bundle or another working directory would otherwise break the default lookup).
 * tfjs-backend-wasm refuses a second call after a failed start, hence once.
 */
function pointWasmAtItsBinaries(): void {
  if (wasmPathsSet) return;
  setWasmPaths(`${dirname(require.resolve(`${WASM_PACKAGE}/dist/tfjs-backend-wasm.wasm`))}/`);
  wasmPathsSet = true;
}

function versionsWith(pkg: string | null, version: string | null): Record<string, string | null> {
  const versions: Record<string, string | null> = {
    node: process.versions.node,
    '@tensorflow/tfjs': tf.version.tfjs,
  };
  for (const name of [...NATIVE_PACKAGES, WASM_PACKAGE]) versions[name] = name === pkg ? version : null;
  return versions;
}

async function tryNative(pkg: string, loadNative: NativeLoader, failures: string[]): Promise<string | null> {
  let version: string | null;
  try {
    const mod = await loadNative(pkg);
    version = mod.version?.['tfjs-node'] ?? readVersion(pkg);
  } catch (err) {
    failures.push(`${pkg}: ${shortReason(err)}`);
    return null;
  }
  const failure = await trySetBackend('tensorflow');
  if (failure !== null) {
    failures.push(`${pkg}: ${failure}`);
    return null;
  }
  return version;
}

function readVersion(pkg: string): string | null {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * tf.setBackend reports a failed initialisation through console.warn (with the full error) and a
 * `false` result; both are captured here so the caller can print one short sentence.
 */
async function trySetBackend(name: BackendName, prepare?: () => void): Promise<string | null> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  try {
    prepare?.();
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (ok && tf.getBackend() === name) return null;
    return shortReason(warnings.join(' ') || `tf.setBackend('${name}') returned false`);
  } catch (err) {
    return shortReason(err);
  } finally {
    console.warn = warn;
  }
}

function shortReason(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}
