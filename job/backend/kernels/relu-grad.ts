import * as tf from '@tensorflow/tfjs';
import { nativeConv, type NativeConv } from '../native-conv.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { wasmModuleOf } from './wasm-asm.js';
import { reluGradFor } from './wasm-relu-grad.js';

/** This project's kernel name: tfjs has no fused ReLU gradient. */
export const RELU_GRAD = 'MixupReluGrad';

/**
 * dx = dy where x > 0, else 0, in one pass: SIMD on wasm, a loop on cpu. tfjs' own ReLU gradient
 * is mul(dy, cast(step(x), 'float32')), three kernels and two full-size intermediates for every
 * activation of every step (bench/FIGURES.md). Where x is NaN the result
 * is 0 (tfjs': NaN); training has diverged by then anyway. On wasm, the native library (`native`)
 * does the same masking where it loads.
 */
export function reluGradKernel(backendName: KernelBackendName, native: () => NativeConv | null = nativeConv): tf.KernelFunc {
  return (args) => {
    const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const simd = backendName === 'wasm' ? reluGradFor(wasmModuleOf(args.backend)) : null;
    const lib = simd === null ? null : native();
    if (lib !== null) {
      return t.output(x.shape, (dx) => {
        if (dx.length > 0) lib.reluGrad(heapOf(args.backend), t.float32(x).byteOffset, t.float32(dy).byteOffset, dx.byteOffset, dx.length);
      });
    }
    return t.output(x.shape, (dx) => {
      const xs = t.float32(x);
      const g = t.float32(dy);
      const vectorised = simd === null ? 0 : dx.length - (dx.length % 4);
      if (simd !== null) simd(xs.byteOffset, g.byteOffset, dx.byteOffset, vectorised);
      for (let i = vectorised; i < dx.length; i++) dx[i] = xs[i]! > 0 ? g[i]! : 0;
    });
  };
}

function heapOf(backend: object): ArrayBuffer {
  return wasmModuleOf(backend).HEAPU8.buffer as ArrayBuffer;
}

let gradientRegistered = false;

/**
 * Points ReLU's gradient at the fused kernel where the active backend has it (and both tensors
 * are float32), and at tfjs' own formula elsewhere, e.g. a native or WebGL backend. Gradients are
 * registered globally, hence once.
 */
export function registerReluGradient(): void {
  if (gradientRegistered) return;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      const fused =
        tf.getKernel(RELU_GRAD, tf.getBackend()) !== undefined && x.dtype === 'float32' && g.dtype === 'float32';
      return {
        x: () => (fused ? (tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor) : tf.mul(g, tf.cast(tf.step(x), 'float32'))),
      };
    },
  });
  gradientRegistered = true;
}
