import * as tf from '@tensorflow/tfjs';

import { FusedAdamOptimizer } from './backend/fused-adam.js';
import { CLASS_COUNT, IMAGE_COLS, IMAGE_ROWS } from './shared/fashion-mnist.js';

export const LEARNING_RATE = 1e-3;

/**
 * Keras' Adam defaults (its epsilon is 1e-7; tfjs would take the backend's). tfjs' Adam, with its
 * update fused into one kernel call where the backend has one: the same floats.
 */
export function createOptimizer(): tf.AdamOptimizer {
  return new FusedAdamOptimizer(LEARNING_RATE, 0.9, 0.999, 1e-7);
}

export interface BatchResult {
  /** Sum over the batch of the per-sample loss. */
  readonly lossSum: number;
  /** Samples whose predicted class is the label's largest component (Keras' categorical accuracy). */
  readonly correct: number;
}

function batchTensors(x: Float32Array, y: Float32Array, size: number): [tf.Tensor4D, tf.Tensor2D] {
  return [tf.tensor4d(x, [size, IMAGE_ROWS, IMAGE_COLS, 1]), tf.tensor2d(y, [size, CLASS_COUNT])];
}

function perSampleLoss(labels: tf.Tensor2D, probs: tf.Tensor): tf.Tensor1D {
  return tf.metrics.categoricalCrossentropy(labels, probs) as tf.Tensor1D;
}

function countCorrect(labels: tf.Tensor2D, probs: tf.Tensor): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(labels, 1)), 'float32'));
}

/**
 * One Adam step on the batch's mean categorical cross-entropy (soft labels welcome). `x` and `y`
 * may be reused buffers: the tensors made from them are disposed before this returns.
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  x: Float32Array,
  y: Float32Array,
  size: number,
): BatchResult {
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const stats = tf.tidy(() => {
    const [xs, ys] = batchTensors(x, y, size);
    let correct: tf.Scalar | undefined;
    const loss = optimizer.minimize(
      () => {
        const probs = model.apply(xs, { training: true }) as tf.Tensor;
        correct = tf.keep(countCorrect(ys, probs));
        return tf.mean(perSampleLoss(ys, probs)) as tf.Scalar;
      },
      true,
      variables,
    )!;
    const result = tf.stack([tf.mul(loss, size), correct!]);
    correct!.dispose(); // kept tensors outlive every tidy
    return result;
  });
  const [lossSum, correct] = stats.dataSync();
  stats.dispose();
  return { lossSum: lossSum!, correct: correct! };
}

/** Loss and correct count of a batch in inference mode (no dropout, no update). */
export function evaluateBatch(model: tf.LayersModel, x: Float32Array, y: Float32Array, size: number): BatchResult {
  const stats = tf.tidy(() => {
    const [xs, ys] = batchTensors(x, y, size);
    const probs = model.apply(xs, { training: false }) as tf.Tensor;
    return tf.stack([tf.sum(perSampleLoss(ys, probs)), countCorrect(ys, probs)]);
  });
  const [lossSum, correct] = stats.dataSync();
  stats.dispose();
  return { lossSum: lossSum!, correct: correct! };
}
