import type * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

/** This project's kernel names: tfjs runs each of these as a chain of small kernels. */
export const SOFTMAX_CROSSENTROPY = 'MixupSoftmaxCrossentropy';
export const SOFTMAX_CROSSENTROPY_GRAD = 'MixupSoftmaxCrossentropyGrad';
export const CORRECT_COUNT = 'MixupCorrectCount';

/*
 * Why these kernels: the loss, its gradient and the accuracy count were ~40 kernel calls per train
 * step on [64, 10] tensors, where tfjs' per-call bookkeeping, not arithmetic, was the cost.
 *
 * The loss is what Keras computes for the example (keras/src/backend/tensorflow/nn.py: its
 * categorical_crossentropy finds the logits behind a softmax output and calls TensorFlow's
 * softmax_cross_entropy_with_logits, whose kernel is xent_op.h): per row, with m = max(logits),
 *   loss = Σⱼ yⱼ · (log Σₖ exp(logitsₖ − m) − (logitsⱼ − m)),
 *   d loss / d logits = dy · (exp(logits − m) / Σₖ exp(logitsₖ − m) − y).
 * No probability is clipped: a confidently wrong row has a large loss and a full gradient, where
 * cross-entropy of clipped probabilities (tfjs-layers, and Keras on a bare probability tensor) caps
 * the loss at −log 1e-7 and gives that row no gradient at all.
 * The element-wise steps are IEEE float32 operations written with Math.fround; the row maximum, the
 * exponentials, the row sums and the logarithm call the backend's own kernels, so the floats are those
 * of the same chain in tfjs ops (`softmaxCrossentropy`'s fallback in fused-loss.ts), bit for bit
 * (test/unit/fused-ops.test.ts).
 */

const f = Math.fround;

function rowsOf(info: tf.TensorInfo): [number, number] {
  if (info.shape.length !== 2) throw new Error(`loss kernels take [batch, classes] tensors, got [${info.shape.join(', ')}]`);
  return [info.shape[0]!, info.shape[1]!];
}

/** logits − max per row, exp of that, and its row sums, by the backend's Max, Exp and Sum. Caller disposes. */
function softmaxParts(t: TensorAccess, logits: tf.TensorInfo): { shifted: tf.TensorInfo; exps: tf.TensorInfo; sums: tf.TensorInfo } {
  const [rows, cols] = rowsOf(logits);
  const max = t.run('Max', { x: logits }, { reductionIndices: [1], keepDims: false });
  const shifted = t.output([rows, cols], (out) => {
    const l = t.float32(logits);
    const m = t.float32(max);
    for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < cols; j++, k++) out[k] = f(l[k]! - m[i]!);
  });
  t.dispose(max);
  const exps = t.run('Exp', { x: shifted }, {});
  const sums = t.run('Sum', { x: exps }, { axis: [1], keepDims: false });
  return { shifted, exps, sums };
}

/** Per-sample categorical cross-entropy from the logits (labels may be soft). Output [batch]. */
export function softmaxCrossentropyKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { labels, logits } = args.inputs as { labels: tf.TensorInfo; logits: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(logits);
    const { shifted, exps, sums } = softmaxParts(t, logits);
    const logSums = t.run('Log', { x: sums }, {});
    const products = t.output([rows, cols], (out) => {
      const y = t.float32(labels);
      const sh = t.float32(shifted);
      const ls = t.float32(logSums);
      for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < cols; j++, k++) out[k] = f(y[k]! * f(ls[i]! - sh[k]!));
    });
    const loss = t.run('Sum', { x: products }, { axis: [1], keepDims: false });
    for (const info of [shifted, exps, sums, logSums, products]) t.dispose(info);
    return loss;
  };
}

/** d loss / d logits for upstream `dy` [batch]: dy · (softmax − labels), TensorFlow's gradient. */
export function softmaxCrossentropyGradKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { dy, labels, logits } = args.inputs as { dy: tf.TensorInfo; labels: tf.TensorInfo; logits: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(logits);
    const { shifted, exps, sums } = softmaxParts(t, logits);
    const out = t.output([rows, cols], (dx) => {
      const e = t.float32(exps);
      const s = t.float32(sums);
      const y = t.float32(labels);
      const g = t.float32(dy);
      for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < cols; j++, k++) dx[k] = f(g[i]! * f(f(e[k]! / s[i]!) - y[k]!));
    });
    for (const info of [shifted, exps, sums]) t.dispose(info);
    return out;
  };
}

/** Index of the row's first largest value: the stock ArgMax's rule (ties and NaN included). */
function argMaxRow(values: Float32Array, from: number, cols: number): number {
  let best = values[from]!;
  let index = 0;
  for (let j = 1; j < cols; j++) {
    const v = values[from + j]!;
    if (v > best) {
      best = v;
      index = j;
    }
  }
  return index;
}

/**
 * How many rows of probs have their largest value where labels do: Keras' categorical accuracy,
 * sum(cast(equal(argMax(probs), argMax(labels)))), as one float32 scalar.
 */
export function correctCountKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { labels, probs } = args.inputs as { labels: tf.TensorInfo; probs: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(probs);
    return t.output([], (out) => {
      const p = t.float32(probs);
      const y = t.float32(labels);
      let correct = 0;
      for (let i = 0; i < rows; i++) if (argMaxRow(p, i * cols, cols) === argMaxRow(y, i * cols, cols)) correct++;
      out[0] = correct;
    });
  };
}
