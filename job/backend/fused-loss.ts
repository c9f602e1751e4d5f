import * as tf from '@tensorflow/tfjs';
import { CORRECT_COUNT, SOFTMAX_CROSSENTROPY, SOFTMAX_CROSSENTROPY_GRAD } from './kernels/loss-head.js';

/** True where the active backend has `kernelName` and every tensor is float32 (the kernels' domain). */
function fusedOn(kernelName: string, ...tensors: tf.Tensor[]): boolean {
  return (
    tf.getKernel(kernelName, tf.getBackend()) !== undefined &&
    tensors.every((x) => x.dtype === 'float32' && x.rank === 2)
  );
}

/**
 * Per-sample categorical cross-entropy from the logits behind a softmax (soft labels welcome), as Keras
 * computes it for the example (kernels/loss-head.ts has the formula): one kernel call, and one for its
 * gradient, where the backend has this project's kernels; the same chain in tfjs ops elsewhere, with the
 * same floats on wasm and cpu.
 */
export function softmaxCrossentropy(labels: tf.Tensor2D, logits: tf.Tensor): tf.Tensor1D {
  if (!fusedOn(SOFTMAX_CROSSENTROPY, labels, logits)) return softmaxCrossentropyOps(labels, logits);
  return tf.engine().runKernel(SOFTMAX_CROSSENTROPY, { labels, logits }) as tf.Tensor1D;
}

/** The kernels' arithmetic in tfjs ops, op for op, with TensorFlow's gradient dy · (softmax − labels). */
function softmaxCrossentropyOps(labels: tf.Tensor2D, logits: tf.Tensor): tf.Tensor1D {
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const shifted = tf.sub(x, tf.max(x, 1, true));
    const exps = tf.exp(shifted);
    const sums = tf.sum(exps, 1, true);
    save([exps, sums]);
    return {
      value: tf.sum(tf.mul(labels, tf.sub(tf.log(sums), shifted)), 1),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.reshape(dy, [-1, 1]), tf.sub(tf.div(saved[0]!, saved[1]!), labels)),
    };
  });
  return loss(logits) as tf.Tensor1D;
}

/** Rows whose largest prediction is the label's largest component (Keras' categorical accuracy), as a count. */
export function countCorrect(labels: tf.Tensor2D, probs: tf.Tensor): tf.Scalar {
  if (!fusedOn(CORRECT_COUNT, labels, probs)) {
    return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(labels, 1)), 'float32')));
  }
  return tf.engine().runKernel(CORRECT_COUNT, { labels, probs }) as tf.Scalar;
}

let registered = false;

/** The gradient of the fused loss. Once. */
export function registerLossGradients(): void {
  if (registered) return;
  tf.registerGradient({
    kernelName: SOFTMAX_CROSSENTROPY,
    inputsToSave: ['labels', 'logits'],
    gradFunc: (dy, saved) => {
      const [labels, logits] = saved as [tf.Tensor, tf.Tensor];
      return { logits: () => tf.engine().runKernel(SOFTMAX_CROSSENTROPY_GRAD, { dy: dy as tf.Tensor, labels, logits }) as tf.Tensor };
    },
  });
  registered = true;
}
