import * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

/** This project's kernel name: tfjs' Mean gradient is reshape, ones, a broadcast multiply and a divide. */
export const MEAN_GRAD = 'MixupMeanGrad';

/** x viewed as [outer, reduce, inner] with the mean taken over the middle axis. */
interface MeanGradAttrs {
  readonly shape: number[];
  readonly outer: number;
  readonly reduce: number;
  readonly inner: number;
}

/**
 * dx[o, r, i] = dy[o, i] / reduce: tfjs-core's div(mul(reshape(dy), ones(x.shape)), reduceSize), whose
 * multiply by one is exact, so each value is the one float32 quotient. For the model's global average
 * pooling ([64, 4, 4, 32] over height and width) the stock form was four kernel calls and a 32,768-float
 * ones tensor made on the host every step.
 */
export function meanGradKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { dy } = args.inputs as { dy: tf.TensorInfo };
    const { shape, outer, reduce, inner } = args.attrs as unknown as MeanGradAttrs;
    const t = new TensorAccess(backendName, args.backend);
    return t.output(shape, (dx) => {
      const g = t.float32(dy);
      let k = 0;
      for (let o = 0; o < outer; o++) {
        const row = o * inner;
        for (let r = 0; r < reduce; r++) for (let i = 0; i < inner; i++) dx[k++] = g[row + i]! / reduce;
      }
    });
  };
}

/** [outer, reduce, inner] when the reduced axes are one contiguous run, else undefined. */
function splitAround(shape: number[], axes: number[]): Omit<MeanGradAttrs, 'shape'> | undefined {
  const sorted = [...axes].sort((a, b) => a - b);
  if (sorted.some((axis, k) => axis !== sorted[0]! + k)) return undefined;
  const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  const first = sorted[0] ?? 0;
  const end = first + sorted.length;
  return { outer: product(shape.slice(0, first)), reduce: product(shape.slice(first, end)), inner: product(shape.slice(end)) };
}

let gradientRegistered = false;

/** Mean's gradient as one kernel where the backend has it, tfjs-core's formula elsewhere. Once. */
export function registerMeanGradient(): void {
  if (gradientRegistered) return;
  tf.registerGradient({
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const split = splitAround(x.shape, axes);
      if (split !== undefined && tf.getKernel(MEAN_GRAD, tf.getBackend()) !== undefined && g.dtype === 'float32') {
        return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: g }, { shape: x.shape, ...split }) as tf.Tensor };
      }
      return {
        x: () => {
          const expandedShape = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
          const reduceSize = axes.reduce((n, axis) => n * x.shape[axis]!, 1);
          return tf.div(tf.mul(tf.reshape(g, expandedShape), tf.ones(x.shape, 'float32')), reduceSize);
        },
      };
    },
  });
  gradientRegistered = true;
}
