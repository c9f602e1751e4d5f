import * as tf from '@tensorflow/tfjs';

import { FusedAdamOptimizer } from './backend/fused-adam.js';
import { countCorrect, softmaxCrossentropy } from './backend/fused-loss.js';
import { logitsOf } from './backend/softmax-dense.js';
import { CLASS_COUNT, IMAGE_COLS, IMAGE_ROWS } from './shared/fashion-mnist.js';

export const LEARNING_RATE = 1e-3;

/** Keras' Adam, with its defaults (its epsilon is 1e-7; tfjs would take the backend's). */
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

/**
 * The model's per-sample categorical cross-entropy, from the logits behind its softmax as Keras computes
 * it (soft labels welcome), and its correct count.
 */
function lossAndCorrect(model: tf.LayersModel, xs: tf.Tensor4D, ys: tf.Tensor2D, training: boolean): [tf.Tensor1D, tf.Scalar] {
  // The layers in order, as the Sequential model's apply runs them, but without the tf.tidy around its
  // graph, which would dispose of the logits before the loss reads them.
  const probs = model.layers.reduce<tf.Tensor>((h, layer) => layer.apply(h, { training }) as tf.Tensor, xs);
  const logits = logitsOf(probs);
  if (logits === undefined) throw new Error(`the model's output layer is not this project's SoftmaxDense: no logits for the loss`);
  return [softmaxCrossentropy(ys, logits), countCorrect(ys, probs)];
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
        const [losses, count] = lossAndCorrect(model, xs, ys, true);
        correct = tf.keep(count);
        return tf.mean(losses) as tf.Scalar;
      },
      true,
      variables,
    )!;
    return [loss, correct!];
  });
  const [loss, correct] = stats.map((t) => t.dataSync()[0]!);
  tf.dispose(stats);
  // tf.mul(loss, size) would be this float32 product, one kernel call later.
  return { lossSum: Math.fround(loss! * size), correct: correct! };
}

/** Loss and correct count of a batch in inference mode (no dropout, no update). */
export function evaluateBatch(model: tf.LayersModel, x: Float32Array, y: Float32Array, size: number): BatchResult {
  const stats = tf.tidy(() => {
    const [xs, ys] = batchTensors(x, y, size);
    const [losses, correct] = lossAndCorrect(model, xs, ys, false);
    return [tf.sum(losses), correct];
  });
  const [lossSum, correct] = stats.map((t) => t.dataSync()[0]!);
  tf.dispose(stats);
  return { lossSum: lossSum!, correct: correct! };
}
