import type * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

/** This project's kernel names: tfjs runs each of these as a chain of small kernels. */
export const CROSSENTROPY = 'MixupCategoricalCrossentropy';
export const CROSSENTROPY_GRAD = 'MixupCategoricalCrossentropyGrad';
export const SOFTMAX_GRAD = 'MixupSoftmaxGrad';
export const CORRECT_COUNT = 'MixupCorrectCount';

/**
 * tfjs-layers' clip of the normalised probabilities: its epsilon() is the backend's, 1e-7 on float32
 * backends, and the bounds reach the kernels as float32 (wasm's cwrap, the gradient's scalar tensors).
 */
const CLIP_MIN = Math.fround(1e-7);
const CLIP_MAX = Math.fround(1 - 1e-7);

/*
 * Why these kernels: the loss, its gradient and the accuracy count were ~40 kernel calls per train
 * step on [64, 10] tensors, where tfjs' per-call bookkeeping, not arithmetic, was the cost.
 * Each kernel here is the stock chain op for op (tfjs-layers 4.22 losses.categoricalCrossentropy,
 * tfjs-core 4.22's gradients of Sum, RealDiv, ClipByValue, Log, Multiply, Neg and Softmax). The
 * element-wise steps are IEEE float32 operations written with Math.fround (a double holds every
 * float32 sum, product and quotient exactly enough for one rounding to be the correctly rounded
 * one); the reductions and the logarithm call the backend's own kernels, whose order of additions
 * and libm are theirs. So the floats are the stock chain's bit for bit (test/unit/loss-head.test.ts).
 */

const f = Math.fround;

function rowsOf(info: tf.TensorInfo): [number, number] {
  if (info.shape.length !== 2) throw new Error(`loss kernels take [batch, classes] tensors, got [${info.shape.join(', ')}]`);
  return [info.shape[0]!, info.shape[1]!];
}

/** Σ over the last axis by the backend's own Sum: tfjs' `sum(x, -1, keepDims)` in the stock chain. */
function rowSums(t: TensorAccess, x: tf.TensorInfo, keepDims: boolean): tf.TensorInfo {
  return t.run('Sum', { x }, { axis: 1, keepDims });
}

/**
 * probs / Σ probs, clipped to [ε, 1 − ε]: tfjs-layers' normalisation of a softmax output. The stock
 * clips differ only at NaN: wasm's (XNNPACK's clamp) gives ε, cpu's keeps NaN.
 */
function normalise(p: number, sum: number, nanClip: number): number {
  const norm = f(p / sum);
  if (Number.isNaN(norm)) return nanClip;
  return norm < CLIP_MIN ? CLIP_MIN : norm > CLIP_MAX ? CLIP_MAX : norm;
}

/**
 * Per-sample categorical cross-entropy of (labels, probs): −Σⱼ labelsⱼ · log(clip(probsⱼ / Σ probs)).
 * Output [batch].
 */
export function crossentropyKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { labels, probs } = args.inputs as { labels: tf.TensorInfo; probs: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(probs);
    const sums = rowSums(t, probs, true);
    const nanClip = backendName === 'wasm' ? CLIP_MIN : NaN;
    const clipped = t.output([rows, cols], (out) => {
      const p = t.float32(probs);
      const s = t.float32(sums);
      for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < cols; j++, k++) out[k] = normalise(p[k]!, s[i]!, nanClip);
    });
    const logs = t.run('Log', { x: clipped }, {});
    const products = t.output([rows, cols], (out) => {
      const y = t.float32(labels);
      const lg = t.float32(logs);
      for (let k = 0; k < out.length; k++) out[k] = f(y[k]! * lg[k]!);
    });
    const loss = rowSums(t, products, false);
    // A fresh output of this kernel, so negating it in place touches nothing else.
    const values = t.float32(loss);
    for (let i = 0; i < values.length; i++) values[i] = -values[i]!;
    for (const info of [sums, clipped, logs, products]) t.dispose(info);
    return loss;
  };
}

/**
 * d loss / d probs for upstream `dy` [batch]: the stock chain's gradient, which reaches probs twice,
 * through the division (a) and through the row sum it divides by (b), added at the end as tfjs'
 * tape adds them.
 */
export function crossentropyGradKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { dy, labels, probs } = args.inputs as { dy: tf.TensorInfo; labels: tf.TensorInfo; probs: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(probs);
    const sums = rowSums(t, probs, true);
    // Both the gradient at the normalised probabilities (for a) and its product with probs (for b).
    const [gNorm, gTimesP] = t.outputs([[rows, cols], [rows, cols]], ([gn, gp]) => {
      const p = t.float32(probs);
      const s = t.float32(sums);
      const y = t.float32(labels);
      const g = t.float32(dy);
      for (let i = 0, k = 0; i < rows; i++) {
        const gRow = -g[i]!; // Neg's gradient; Sum's broadcast multiplies by 1, exactly
        for (let j = 0; j < cols; j++, k++) {
          const norm = f(p[k]! / s[i]!);
          const inside = norm >= CLIP_MIN && norm <= CLIP_MAX;
          const clipped = inside ? norm : norm < CLIP_MIN ? CLIP_MIN : CLIP_MAX;
          // Multiply's gradient (dy · labels), then Log's (÷ x), then ClipByValue's (0 outside).
          const value = inside ? f(f(gRow * y[k]!) / clipped) : 0;
          gn![k] = value;
          gp![k] = f(value * p[k]!);
        }
      }
    });
    const bSums = t.run('Sum', { x: gTimesP }, { axis: [1], keepDims: false });
    const out = t.output([rows, cols], (dx) => {
      const s = t.float32(sums);
      const gn = t.float32(gNorm);
      const bs = t.float32(bSums);
      for (let i = 0, k = 0; i < rows; i++) {
        const si = s[i]!;
        const dB = -f(bs[i]! / f(si * si)); // RealDiv's gradient for b: −Σ(dy · a) / b²
        for (let j = 0; j < cols; j++, k++) dx[k] = f(f(gn[k]! / si) + dB);
      }
    });
    for (const info of [sums, gNorm, gTimesP, bSums]) t.dispose(info);
    return out;
  };
}

/** Softmax's gradient: dy·y − (Σ dy·y)·y, as tfjs-core's, with the row sum by the backend's Sum. */
export function softmaxGradKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
    const t = new TensorAccess(backendName, args.backend);
    const [rows, cols] = rowsOf(y);
    const dyTimesY = t.output([rows, cols], (out) => {
      const g = t.float32(dy);
      const p = t.float32(y);
      for (let k = 0; k < out.length; k++) out[k] = f(g[k]! * p[k]!);
    });
    const sums = t.run('Sum', { x: dyTimesY }, { axis: [-1], keepDims: true });
    const out = t.output([rows, cols], (dx) => {
      const gy = t.float32(dyTimesY);
      const p = t.float32(y);
      const s = t.float32(sums);
      for (let i = 0, k = 0; i < rows; i++) for (let j = 0; j < cols; j++, k++) dx[k] = f(gy[k]! - f(s[i]! * p[k]!));
    });
    t.dispose(dyTimesY);
    t.dispose(sums);
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
