import * as tf from '@tensorflow/tfjs';
import { CORRECT_COUNT, CROSSENTROPY, CROSSENTROPY_GRAD, SOFTMAX_GRAD } from './kernels/loss-head.js';

/** True where the active backend has `kernelName` and every tensor is float32 (the kernels' domain). */
function fusedOn(kernelName: string, ...tensors: tf.Tensor[]): boolean {
  return (
    tf.getKernel(kernelName, tf.getBackend()) !== undefined &&
    tensors.every((x) => x.dtype === 'float32' && x.rank === 2)
  );
}

/**
 * Per-sample categorical cross-entropy of a softmax output (soft labels welcome): one kernel call,
 * and one for its gradient, where the backend has this project's loss kernels; tfjs-layers' own
 * chain elsewhere. The same floats either way on wasm and cpu.
 */
export function categoricalCrossentropy(labels: tf.Tensor2D, probs: tf.Tensor): tf.Tensor1D {
  if (!fusedOn(CROSSENTROPY, labels, probs)) return tf.metrics.categoricalCrossentropy(labels, probs) as tf.Tensor1D;
  return tf.engine().runKernel(CROSSENTROPY, { labels, probs }) as tf.Tensor1D;
}

/** Rows whose largest prediction is the label's largest component (Keras' categorical accuracy), as a count. */
export function countCorrect(labels: tf.Tensor2D, probs: tf.Tensor): tf.Scalar {
  if (!fusedOn(CORRECT_COUNT, labels, probs)) {
    return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(labels, 1)), 'float32')));
  }
  return tf.engine().runKernel(CORRECT_COUNT, { labels, probs }) as tf.Scalar;
}

let registered = false;

/**
 * The gradients of the fused loss and of Softmax. Softmax's replaces tfjs-core's for every
 * backend (gradients are global), so elsewhere it runs tfjs-core's own formula. Once.
 */
export function registerLossGradients(): void {
  if (registered) return;
  tf.registerGradient({
    kernelName: CROSSENTROPY,
    inputsToSave: ['labels', 'probs'],
    gradFunc: (dy, saved) => {
      const [labels, probs] = saved as [tf.Tensor, tf.Tensor];
      return { probs: () => tf.engine().runKernel(CROSSENTROPY_GRAD, { dy: dy as tf.Tensor, labels, probs }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      if (fusedOn(SOFTMAX_GRAD, g, y)) return { logits: () => tf.engine().runKernel(SOFTMAX_GRAD, { dy: g, y }) as tf.Tensor };
      const { dim } = attrs as unknown as { dim: number };
      const dyTimesY = tf.mul(g, y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
    },
  });
  registered = true;
}
