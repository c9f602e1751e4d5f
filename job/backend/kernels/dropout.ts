import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';

/** This project's kernel name: tfjs' dropout is an op of five kernels and a host-side draw. */
export const DROPOUT = 'MixupDropout';

export interface DropoutAttrs {
  readonly rate: number;
  /** The seed as tfjs' UniformRandom takes it: a number becomes its string. */
  readonly seed: string;
}

let cached: { key: string; multiplier: Float32Array } | undefined;

/**
 * tfjs-core 4.22's dropout multiplier, value for value: u = randomUniform(shape, 0, 1, seed) (alea,
 * stored as float32), then div(floor(add(u, keep)), keep) with keep = 1 − rate as a float32 scalar:
 * 0 or 1/keep. The last one is kept: the gradient needs the forward pass's mask, and drawing it
 * again costs as much as the draw (alea is sequential; it is most of dropout's cost).
 */
export function dropoutMultiplier(rate: number, seed: string, size: number): Float32Array {
  const key = `${rate}/${seed}/${size}`;
  if (cached?.key === key) return cached.multiplier;
  const random = seedrandom.alea(seed);
  const keep = Math.fround(1 - rate);
  const multiplier = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = Math.fround(random());
    multiplier[i] = Math.fround(Math.floor(Math.fround(u + keep)) / keep);
  }
  cached = { key, multiplier };
  return multiplier;
}

/**
 * x · multiplier in one pass, for a dropout layer in training. Dropout is linear in x with a fixed
 * mask, so the same kernel with the same attributes is its own gradient: dy · multiplier, the
 * product tfjs' Multiply gradient makes.
 */
export function dropoutKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { rate, seed } = args.attrs as unknown as DropoutAttrs;
    const t = new TensorAccess(backendName, args.backend);
    const multiplier = dropoutMultiplier(rate, seed, tf.util.sizeFromShape(x.shape));
    return t.output(x.shape, (out) => {
      const values = t.float32(x);
      for (let i = 0; i < out.length; i++) out[i] = values[i]! * multiplier[i]!;
    });
  };
}

let gradientRegistered = false;

export function registerDropoutGradient(): void {
  if (gradientRegistered) return;
  tf.registerGradient({
    kernelName: DROPOUT,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(DROPOUT, { x: dy as tf.Tensor }, attrs as tf.NamedAttrMap) as tf.Tensor }),
  });
  gradientRegistered = true;
}
