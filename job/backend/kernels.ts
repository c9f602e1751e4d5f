import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, adamKernel } from './kernels/adam.js';
import { addKernel } from './kernels/add.js';
import { batchMatMulKernel } from './kernels/batch-mat-mul.js';
import { conv2DKernel, fusedConv2DKernel } from './kernels/conv2d-forward.js';
import type { Fallback } from './kernels/conv2d-grad-shared.js';
import { conv2DBackpropFilterKernel } from './kernels/conv2d-grads.js';
import { conv2DBackpropInputKernel } from './kernels/conv2d-input-grad.js';
import { DROPOUT, dropoutKernel, registerDropoutGradient } from './kernels/dropout.js';
import { identityKernel } from './kernels/identity.js';
import {
  CORRECT_COUNT,
  SOFTMAX_CROSSENTROPY,
  SOFTMAX_CROSSENTROPY_GRAD,
  correctCountKernel,
  softmaxCrossentropyGradKernel,
  softmaxCrossentropyKernel,
} from './kernels/loss-head.js';
import { maxPoolGradKernel } from './kernels/max-pool-grad.js';
import { maxPoolKernel, reluKernel } from './kernels/relu-max-pool.js';
import { MEAN_GRAD, meanGradKernel, registerMeanGradient } from './kernels/mean-grad.js';
import { RELU_GRAD, registerReluGradient, reluGradKernel } from './kernels/relu-grad.js';
import { sumKernel } from './kernels/sum.js';
import type { KernelBackendName } from './kernels/tensor-access.js';
import { registerLossGradients } from './fused-loss.js';

/** The kernels this project registers, by name, built from the stock kernel they replace (if any). */
const CUSTOM_KERNELS: Readonly<Record<string, (backend: KernelBackendName, stock: Fallback) => tf.KernelFunc>> = {
  [tf.Conv2DBackpropFilter]: conv2DBackpropFilterKernel,
  [tf.Conv2DBackpropInput]: conv2DBackpropInputKernel,
  [tf.MaxPoolGrad]: (backend) => maxPoolGradKernel(backend),
  [tf.Identity]: (_backend, stock) => identityKernel(stock),
  [tf.Sum]: sumKernel,
  [tf.Add]: addKernel,
  [tf.BatchMatMul]: batchMatMulKernel,
  [RELU_GRAD]: (backend) => reluGradKernel(backend),
  [ADAM_UPDATE]: (backend) => adamKernel(backend),
  [SOFTMAX_CROSSENTROPY]: (backend) => softmaxCrossentropyKernel(backend),
  [SOFTMAX_CROSSENTROPY_GRAD]: (backend) => softmaxCrossentropyGradKernel(backend),
  [CORRECT_COUNT]: (backend) => correctCountKernel(backend),
  [DROPOUT]: (backend) => dropoutKernel(backend),
  [MEAN_GRAD]: (backend) => meanGradKernel(backend),
};

/** Kernels for wasm alone: the native library (forward convolution, ReLU, max-pooling) works in the wasm heap. */
const WASM_KERNELS: typeof CUSTOM_KERNELS = {
  [tf.Conv2D]: (_backend, stock) => conv2DKernel(stock),
  [tf.FusedConv2D]: (_backend, stock) => fusedConv2DKernel(stock),
  [tf.Relu]: (_backend, stock) => reluKernel(stock),
  [tf.MaxPool]: (_backend, stock) => maxPoolKernel(stock),
};

/** The kernel names this project registers for `backend` (what must never appear on `tensorflow`). */
export function customKernelNames(backend: KernelBackendName): string[] {
  return Object.keys({ ...CUSTOM_KERNELS, ...(backend === 'wasm' ? WASM_KERNELS : {}) });
}

const registered = new Map<string, tf.KernelFunc>();
const stock = new Map<string, tf.KernelFunc>();

/** The kernel a custom one replaced on `backend`, for benchmarks; undefined where there was none. */
export function stockKernel(kernelName: string, backend: KernelBackendName): tf.KernelFunc | undefined {
  return stock.get(`${backend}/${kernelName}`);
}

/**
 * Registers the custom kernels for `backend`, replacing stock ones (which stay reachable as the
 * fallback for configurations the custom kernels do not cover). Idempotent.
 */
export function registerCustomKernels(backend: KernelBackendName): string[] {
  registerReluGradient();
  registerLossGradients();
  registerDropoutGradient();
  registerMeanGradient();
  const names: string[] = [];
  for (const [kernelName, build] of Object.entries({ ...CUSTOM_KERNELS, ...(backend === 'wasm' ? WASM_KERNELS : {}) })) {
    const key = `${backend}/${kernelName}`;
    const current = tf.getKernel(kernelName, backend);
    if (current !== undefined && current.kernelFunc === registered.get(key)) {
      names.push(kernelName);
      continue;
    }
    // tfjs refuses to register a second kernel under the same name, so the stock one is removed first.
    if (current !== undefined) tf.unregisterKernel(kernelName, backend);
    const kernelFunc = build(backend, current?.kernelFunc);
    if (current !== undefined) stock.set(key, current.kernelFunc);
    // The stock setup (wasm's cwrap of its C++ function) must still run when a backend is re-created.
    const setupFunc = current?.setupFunc;
    tf.registerKernel({ kernelName, backendName: backend, kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
    registered.set(key, kernelFunc);
    names.push(kernelName);
  }
  return names;
}
