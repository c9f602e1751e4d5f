/**
 * What the custom convolution-gradient kernels (conv2d-grads.ts: the filter gradient;
 * conv2d-input-grad.ts: the input gradient) share: their attributes, the convolution's geometry,
 * the cases they leave to the stock kernel and how they hand those over.
 */
import * as tf from '@tensorflow/tfjs';

import type { KernelBackendName } from './tensor-access.js';

export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** What a custom kernel does with a configuration it does not cover. */
export type Fallback = tf.KernelFunc | undefined;

export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function convInfoOf(xShape: number[], filterShape: number[], attrs: ConvGradAttrs): tf.backend_util.Conv2DInfo {
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
export function unsupportedReason(info: tf.backend_util.Conv2DInfo): string | null {
  if (info.dataFormat !== 'channelsLast') return `dataFormat ${info.dataFormat} (only NHWC)`;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) {
    return `strides [${info.strideHeight}, ${info.strideWidth}] (only stride 1)`;
  }
  return null;
}

export function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

export function fallBack(
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
