import type * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { adamFor } from './wasm-adam.js';
import { wasmModuleOf } from './wasm-asm.js';

/** This project's kernel name: tfjs has no fused optimizer update. */
export const ADAM_UPDATE = 'MixupAdamUpdate';

/** The kernel's attributes: Adam's hyper-parameters, as the optimizer holds them (doubles). */
export interface AdamAttrs {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** How many weights the inputs hold: `value0`, `m0`, `v0`, `g0` … up to `count − 1`. */
  readonly count: number;
}

/**
 * The float32 scalars tfjs' Adam multiplies and adds: each number it passes to an op becomes a
 * float32 scalar tensor, and `1 − β` is taken in doubles first (0.09999999999999998 for β₁ = 0.9).
 */
export function adamScalars(attrs: Omit<AdamAttrs, 'count'>): Float32Array {
  return new Float32Array([
    attrs.beta1,
    1 - attrs.beta1,
    attrs.beta2,
    1 - attrs.beta2,
    attrs.epsilon,
    -attrs.learningRate,
  ]);
}

/**
 * One step of tfjs' Adam (tfjs-core 4.22, optimizers/adam_optimizer.js) for every weight in one
 * kernel, instead of fourteen small kernels per weight; on wasm in a SIMD routine, four lanes at a
 * time (wasm-adam.ts). Inputs `value<i>`, `m<i>`, `v<i>`, `g<i>` for each weight and the scalars `accBeta1`, `accBeta2` (β₁ᵗ, β₂ᵗ); outputs, in order, each
 * weight's new value, m and v, then the next β₁ᵗ⁺¹, β₂ᵗ⁺¹. The arithmetic is the stock chain's,
 * op for op, each result rounded to float32 as its kernel's output would be:
 *   m' = m·β₁ + g·(1−β₁)            v' = v·β₂ + (g·g)·(1−β₂)
 *   value' = ((m'/(1−β₁ᵗ)) / (√(v'/(1−β₂ᵗ)) + ε))·(−lr) + value
 * Every step is an IEEE float32 operation (correctly rounded), so the result is bit-identical to
 * the stock chain on the backends whose kernels are too (wasm, cpu); the unit tests check that.
 */
export function adamKernel(backendName: KernelBackendName): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as AdamAttrs;
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const count = attrs.count;
    const t = new TensorAccess(backendName, args.backend);
    const shapes: number[][] = [];
    for (let i = 0; i < count; i++) {
      const shape = inputs[`value${i}`]!.shape;
      shapes.push(shape, shape, shape);
    }
    shapes.push([], []);
    const simd = backendName === 'wasm' ? adamFor(wasmModuleOf(args.backend)) : null;
    return t.outputs(shapes, (outs) => {
      const acc1 = t.float32(inputs['accBeta1']!)[0]!;
      const acc2 = t.float32(inputs['accBeta2']!)[0]!;
      // The stock optimizer's sub(1, accBeta): float32 scalars, a float32 result.
      const scalars = [...adamScalars(attrs), Math.fround(1 - acc1), Math.fround(1 - acc2)];
      const scalarBits = [...new Uint32Array(Float32Array.from(scalars).buffer)];
      for (let i = 0; i < count; i++) {
        const tensors = {
          value: t.float32(inputs[`value${i}`]!),
          m: t.float32(inputs[`m${i}`]!),
          v: t.float32(inputs[`v${i}`]!),
          g: t.float32(inputs[`g${i}`]!),
          outValue: outs[3 * i]!,
          outM: outs[3 * i + 1]!,
          outV: outs[3 * i + 2]!,
        };
        const { value, m, v, g, outValue, outM, outV } = tensors;
        const vectorised = simd === null ? 0 : value.length - (value.length % 4);
        if (vectorised > 0) {
          simd!(value.byteOffset, m.byteOffset, v.byteOffset, g.byteOffset, outValue.byteOffset, outM.byteOffset, outV.byteOffset, vectorised, ...scalarBits);
        }
        adamLoop(tensors, scalars, vectorised);
      }
      outs[3 * count]![0] = acc1 * scalars[0]!;
      outs[3 * count + 1]![0] = acc2 * scalars[2]!;
    });
  };
}

export interface AdamArrays {
  readonly value: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly g: Float32Array;
  readonly outValue: Float32Array;
  readonly outM: Float32Array;
  readonly outV: Float32Array;
}

/**
 * The update from element `from` on, in JavaScript (wasm's SIMD routine does the groups of four
 * before it): Math.fround after each operation gives the
 * float32 result (a double holds every float32 sum, product, quotient and root exactly enough
 * for one rounding to float32 to be the correctly rounded one).
 */
function adamLoop(a: AdamArrays, scalars: readonly number[], from: number): void {
  const [b1, omb1, b2, omb2, eps, negLr, oneMinusAcc1, oneMinusAcc2] = scalars as [
    number, number, number, number, number, number, number, number,
  ];
  const { value, m, v, g, outValue, outM, outV } = a;
  const f = Math.fround;
  for (let j = from; j < value.length; j++) {
    const gj = g[j]!;
    const newM = f(f(m[j]! * b1) + f(gj * omb1));
    const newV = f(f(v[j]! * b2) + f(f(gj * gj) * omb2));
    const mHat = f(newM / oneMinusAcc1);
    const vHat = f(newV / oneMinusAcc2);
    const step = f(mHat / f(f(Math.sqrt(vHat)) + eps));
    outM[j] = newM;
    outV[j] = newV;
    outValue[j] = f(step * negLr) + value[j]!;
  }
}
