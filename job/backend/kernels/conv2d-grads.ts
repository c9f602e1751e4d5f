import * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** What a custom kernel does with a configuration it does not cover. */
export type Fallback = tf.KernelFunc | undefined;

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfoOf(xShape: number[], filterShape: number[], attrs: ConvGradAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

/** Why the forward-convolution identities do not apply, or null when they do. */
function unsupportedReason(info: tf.backend_util.Conv2DInfo): string | null {
  if (info.dataFormat !== 'channelsLast') return `dataFormat ${info.dataFormat} (only NHWC)`;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) {
    return `strides [${info.strideHeight}, ${info.strideWidth}] (only stride 1)`;
  }
  return null;
}

function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

function fallBack(
  kernelName: string,
  backendName: KernelBackendName,
  reason: string,
  fallback: Fallback,
  args: Parameters<tf.KernelFunc>[0],
): tf.TensorInfo {
  if (fallback === undefined) {
    throw new Error(
      `${kernelName} on the ${backendName} backend does not support ${reason}, and the backend has no stock kernel to fall back to`,
    );
  }
  return fallback(args) as tf.TensorInfo;
}

/**
 * Conv2DBackpropFilter as one forward convolution (stride 1, any padding):
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b,oh+kh−top,ow+kw−left,ci]·dy[b,oh,ow,co], i.e. x transposed to
 * [ci,H,W,b] convolved with dy transposed to [OH,OW,b,co], transposed back to [KH,KW,ci,co].
 * Forward convolutions are the fastest kernels both backends have (XNNPACK on wasm), and the wasm
 * backend has no filter gradient at all. (An im2col + BatchMatMul variant measured slower here:
 * building the column matrix in JavaScript costs more than the two transposes.)
 */
export function conv2DBackpropFilterKernel(backendName: KernelBackendName, fallback: Fallback): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
    const info = convInfoOf(x.shape, attrs.filterShape, attrs);
    const reason = unsupportedReason(info);
    if (reason !== null) return fallBack('Conv2DBackpropFilter', backendName, reason, fallback, args);

    const t = new TensorAccess(backendName, args.backend);
    const { top, bottom, left, right } = info.padInfo;
    const xT = t.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
    const dyT = t.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const dwT = t.run(
      'Conv2D',
      { x: xT, filter: dyT },
      { strides: 1, pad: explicitPad(top, bottom, left, right), dataFormat: 'NHWC', dilations: 1 },
    );
    t.dispose(xT);
    t.dispose(dyT);
    const dw = t.run('Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
    t.dispose(dwT);
    return dw;
  };
}

/**
 * Conv2DBackpropInput as one forward convolution (stride 1): dy, padded by K−1−pad on each side,
 * convolved with the filter rotated 180° and its in/out channels swapped.
 */
export function conv2DBackpropInputKernel(backendName: KernelBackendName, fallback: Fallback): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
    const info = convInfoOf(attrs.inputShape, filter.shape, attrs);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
    const reason =
      unsupportedReason(info) ??
      (pads.some((p) => p < 0) ? `padding larger than the filter minus one (${top},${bottom},${left},${right})` : null);
    if (reason !== null) return fallBack('Conv2DBackpropInput', backendName, reason, fallback, args);

    const t = new TensorAccess(backendName, args.backend);
    const [ci, co] = [info.inChannels, info.outChannels];
    const rotated = t.output([kh, kw, co, ci], (out) => {
      const w = t.float32(filter);
      for (let r = 0; r < kh; r++) {
        for (let s = 0; s < kw; s++) {
          const src = ((kh - 1 - r) * kw + (kw - 1 - s)) * ci * co;
          const dst = (r * kw + s) * co * ci;
          for (let i = 0; i < ci; i++) {
            for (let o = 0; o < co; o++) out[dst + o * ci + i] = w[src + i * co + o];
          }
        }
      }
    });
    const dx = t.run(
      'Conv2D',
      { x: dy, filter: rotated },
      { strides: 1, pad: explicitPad(pads[0], pads[1], pads[2], pads[3]), dataFormat: 'NHWC', dilations: 1 },
    );
    t.dispose(rotated);
    return dx;
  };
}
