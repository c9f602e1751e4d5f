import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { JobError } from '../errors.js';
import { registerCustomKernels } from './kernels.js';
import { NATIVE_CONV_VERSION, nativeConv } from './native-conv.js';
import { CPU_PACKAGE, GPU_PACKAGE, NATIVE_PACKAGES, bindingLoader, type NativeLoader, type NativePackage } from './tensorflow-binding.js';

export type { NativeLoader } from './tensorflow-binding.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface SelectedBackend {
  readonly backend: BackendName;
  /** The npm package that provides the backend; null for `cpu`, which ships inside @tensorflow/tfjs. */
  readonly package: string | null;
  readonly versions: Record<string, string | null>;
  /** Why each better backend was not taken (e.g. tfjs-node-gpu: no GPU); empty when the first one was. */
  readonly failures: readonly string[];
}

const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
/** Its key in metrics.json's versions: the TensorFlow the binding loaded (TF_Version), null off `tensorflow`. */
export const LIBTENSORFLOW_VERSION = 'libtensorflow';
/** A failed wasm start can carry the whole minified module in its message; keep what a person reads. */
const MAX_REASON_CHARS = 300;

const require = createRequire(import.meta.url);

/**
 * Selects and initialises the tfjs backend. An explicit choice that cannot start is a JobError;
 * `tensorflow` takes tfjs-node-gpu, else tfjs-node, GPU or not. `auto` takes the fastest that starts,
 * in the order measured (docs/tensorflow.md): tfjs-node-gpu where TensorFlow finds a GPU, else wasm
 * (with the native convolution, faster than TensorFlow's CPU kernels per step), else TensorFlow's CPU
 * kernels (tfjs-node-gpu without a GPU, or tfjs-node), else cpu. A fixed order, not a timing at start: a resumed run must pick the backend its run.json names.
 * Custom kernels are registered for wasm and cpu only.
 */
export async function initBackend(choice: BackendChoice, loadNative: NativeLoader = bindingLoader()): Promise<SelectedBackend> {
  const failures: string[] = [];
  if (choice === 'tensorflow') {
    for (const pkg of NATIVE_PACKAGES) {
      const selected = await tryNative(pkg, loadNative, failures);
      if (selected !== null) return selected;
    }
    throw new JobError(
      `backend 'tensorflow' needs ${NATIVE_PACKAGES.join(' or ')}, and neither loads here (${failures.join('; ')}); ` +
        `build one (npm run build:tensorflow), or run with --backend wasm`,
    );
  }
  // The GPU binding loaded on a machine without a GPU: TensorFlow's CPU kernels, should wasm not start.
  let tensorflowWithoutGpu: SelectedBackend | null = null;
  if (choice === 'auto') {
    const gpu = await tryNative(GPU_PACKAGE, loadNative, failures);
    if (gpu !== null) {
      if (usesGpu()) return gpu;
      failures.push(`${GPU_PACKAGE}: TensorFlow ${gpu.versions[LIBTENSORFLOW_VERSION] ?? '?'} loaded but found no GPU`);
      tensorflowWithoutGpu = gpu;
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
    if (tensorflowWithoutGpu !== null && (await trySetBackend('tensorflow')) === null) return tensorflowWithoutGpu;
    const cpuBuild = await tryNative(CPU_PACKAGE, loadNative, failures);
    if (cpuBuild !== null) return cpuBuild;
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

/** Loads `pkg` and starts the `tensorflow` backend on it; null (and the reason in `failures`) where either fails. */
async function tryNative(pkg: NativePackage, loadNative: NativeLoader, failures: string[]): Promise<SelectedBackend | null> {
  let version: string | null;
  try {
    const mod = await loadNative(pkg);
    version = mod.version?.['tfjs-node'] ?? null;
  } catch (err) {
    failures.push(`${pkg}: ${shortReason(err)}`);
    return null;
  }
  const failure = await trySetBackend('tensorflow');
  if (failure !== null) {
    failures.push(`${pkg}: ${failure}`);
    return null;
  }
  const versions = { ...versionsWith(pkg, version), [LIBTENSORFLOW_VERSION]: tensorflowVersion() };
  return { backend: 'tensorflow', package: pkg, versions, failures };
}

/** TensorFlow's own version (TF_Version), as the binding reports it. */
function tensorflowVersion(): string | null {
  const binding = (tf.backend() as { binding?: { TF_Version?: unknown } }).binding;
  return typeof binding?.TF_Version === 'string' ? binding.TF_Version : null;
}

/** Whether TensorFlow placed its context on a GPU; a binding too old to say counts as yes. */
function usesGpu(): boolean {
  return (tf.backend() as { isUsingGpuDevice?: unknown }).isUsingGpuDevice !== false;
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
