import { createRequire } from 'node:module';
import path from 'node:path';

import { packageRoot } from '../shared/package-root.js';

/**
 * Where the `tensorflow` backend's native bindings are found. `npm run build:tensorflow [-- gpu]`
 * (tensorflow/build.sh) builds @tensorflow/tfjs-node (cpu) and @tensorflow/tfjs-node-gpu (gpu) from
 * PyPI's TensorFlow into tensorflow/cpu and tensorflow/gpu of this package, outside node_modules, so
 * that `npm ci` neither removes them nor runs their install scripts (which download from Google).
 * Resolution from there walks up to the package's node_modules, so the bindings run on the job's own
 * @tensorflow/tfjs, and a binding a user installed into node_modules themselves is still found.
 */
export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
export const CPU_PACKAGE = '@tensorflow/tfjs-node';
/** Native TensorFlow bindings, GPU first. */
export const NATIVE_PACKAGES = [GPU_PACKAGE, CPU_PACKAGE] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

/**
 * The folder holding the built bindings (`cpu/`, `gpu/`); default the package's `tensorflow/`. Tests
 * point it at an empty folder to run the job as on a machine without a binding.
 */
export const TENSORFLOW_DIR_ENV = 'MIXUP_TENSORFLOW_DIR';

/** TensorFlow's C++ log threshold: 0 INFO, 1 WARNING, 2 ERROR; read once, when libtensorflow first logs. */
const TF_LOG_LEVEL_ENV = 'TF_CPP_MIN_LOG_LEVEL';

const VARIANT: Record<NativePackage, 'cpu' | 'gpu'> = { [GPU_PACKAGE]: 'gpu', [CPU_PACKAGE]: 'cpu' };

/** What a binding package exports that the job reads (it registers the `tensorflow` backend on import). */
export interface NativeModule {
  readonly version?: Record<string, string>;
}

/** Loads a native binding package; tests pass one that fails the way a broken install does. */
export type NativeLoader = (pkg: NativePackage) => Promise<NativeModule>;

export function tensorflowDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[TENSORFLOW_DIR_ENV] || path.join(packageRoot(), 'tensorflow');
}

/** A loader that looks in `dir`'s build for the package's variant, then wherever Node finds it from there. */
export function bindingLoader(dir: string = tensorflowDir()): NativeLoader {
  return async (pkg) => {
    const require = createRequire(path.join(dir, VARIANT[pkg], 'package.json'));
    try {
      require.resolve(pkg);
    } catch {
      throw new Error(`not built (npm run build:tensorflow -- ${VARIANT[pkg]} builds it into ${path.join(dir, VARIANT[pkg])})`);
    }
    // TensorFlow's INFO lines at every start (oneDNN, CPU features) would break the job's one-line
    // errors; its warnings stay. The GPU image sets 0 to keep the device lines that diagnose a GPU.
    process.env[TF_LOG_LEVEL_ENV] ??= '1';
    return require(pkg) as NativeModule;
  };
}

