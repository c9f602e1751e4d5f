/**
 * Conv2DBackpropInput: the input gradient of the model's convolutions (the filter gradient is in
 * conv2d-grads.ts).
 */
import * as tf from '@tensorflow/tfjs';

import { nativeConv, type NativeConv } from '../native-conv.js';
import { convInfoOf, explicitPad, fallBack, unsupportedReason, type ConvGradAttrs, type Fallback } from './conv2d-grad-shared.js';
import { inputGradBySparseRuns, useSparseForm } from './sparse-conv-grads.js';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

type InputGradForm = (t: TensorAccess, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo) => tf.TensorInfo;

/**
 * Conv2DBackpropInput for stride 1 and padding up to the filter size minus one: the sparse form
 * (on the native library where it loads, as for the filter gradient), else one forward
 * convolution. (A matrix product dy × Wᵀ followed by a col2im scatter-add does 52M instead of 118M
 * multiply-adds on the second layer, but measured slower (bench/FIGURES.md): its 6.5 MB
 * column matrix leaves the cache between the product and the scatter-add, and splitting it into
 * per-image chunks cost more in per-call overhead than it saved.)
 */
export function conv2DBackpropInputKernel(
  backendName: KernelBackendName,
  fallback: Fallback,
  native: () => NativeConv | null = nativeConv,
): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
    const info = convInfoOf(attrs.inputShape, filter.shape, attrs);
    const { top, bottom, left, right } = info.padInfo;
    const pads = [info.filterHeight - 1 - top, info.filterHeight - 1 - bottom, info.filterWidth - 1 - left, info.filterWidth - 1 - right];
    const reason =
      unsupportedReason(info) ??
      (pads.some((p) => p < 0) ? `padding larger than the filter minus one (${top},${bottom},${left},${right})` : null);
    if (reason !== null) return fallBack('Conv2DBackpropInput', backendName, reason, fallback, args);
    const t = new TensorAccess(backendName, args.backend);
    const sparse = useSparseForm(t, dy, info) ? inputGradBySparseRuns(t, filter, dy, info, backendName === 'wasm' ? native() : null) : null;
    return sparse ?? inputGradByConv(t, dy, filter, info);
  };
}

/**
 * The input gradient as one forward convolution: dy, padded by K−1−pad on each side, convolved
 * with the filter rotated 180° and its in/out channels swapped.
 */
export const inputGradByConv: InputGradForm = (t, dy, filter, info) => {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { top, bottom, left, right } = info.padInfo;
  const rotated = t.output([kh, kw, co, ci], (out) => {
    const w = t.float32(filter);
    for (let r = 0; r < kh; r++) {
      for (let s = 0; s < kw; s++) {
        const src = ((kh - 1 - r) * kw + (kw - 1 - s)) * ci * co;
        const dst = (r * kw + s) * co * ci;
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) out[dst + o * ci + i] = w[src + i * co + o]!;
        }
      }
    }
  });
  const dx = t.run(
    'Conv2D',
    { x: dy, filter: rotated },
    {
      strides: 1,
      pad: explicitPad(kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right),
      dataFormat: 'NHWC',
      dilations: 1,
    },
  );
  t.dispose(rotated);
  return dx;
};

/** The input-gradient forms, by name, for benchmarks (bench/kernels.ts). */
export const INPUT_GRAD_FORMS = {
  conv: inputGradByConv,
  sparse: ((t, dy, filter, info) => inputGradBySparseRuns(t, filter, dy, info) ?? inputGradByConv(t, dy, filter, info)) as InputGradForm,
  'sparse native': ((t, dy, filter, info) =>
    inputGradBySparseRuns(t, filter, dy, info, nativeConv()) ?? inputGradByConv(t, dy, filter, info)) as InputGradForm,
} as const;
