import type * as tf from '@tensorflow/tfjs';
import { TensorAccess, type KernelBackendName } from './tensor-access.js';
import { adamFor } from './wasm-adam.js';
import { wasmModuleOf } from './wasm-asm.js';

/** This project's kernel name: tfjs has no fused optimizer update. */
export const ADAM_UPDATE = 'MixupAdamUpdate';

/** The kernel's attributes: Adam's hyper-parameters, as the optimizer holds them (doubles), and the step. */
export interface AdamAttrs {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** t: which update this is, 1 for the first (Keras: `iterations + 1`). */
  readonly step: number;
  /** How many weights the inputs hold: `value0`, `m0`, `v0`, `g0` … up to `count − 1`. */
  readonly count: number;
}

const f = Math.fround;

/**
 * The float32 scalars of Keras 3's `Adam.update_step` (keras/src/optimizers/adam.py) for step t:
 * 1 − β₁ and 1 − β₂ (Python's doubles, 0.09999999999999998 for β₁ = 0.9, then float32 as TensorFlow
 * converts them), ε, and the step size α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ) with βᵗ = pow(float32 β, t), each
 * operation a float32 one as TensorFlow's kernels compute it.
 */
export function adamScalars(attrs: Omit<AdamAttrs, 'count'>): Float32Array {
  const beta1Power = f(Math.pow(f(attrs.beta1), attrs.step));
  const beta2Power = f(Math.pow(f(attrs.beta2), attrs.step));
  const alpha = f(f(f(attrs.learningRate) * f(Math.sqrt(f(1 - beta2Power)))) / f(1 - beta1Power));
  return new Float32Array([1 - attrs.beta1, 1 - attrs.beta2, attrs.epsilon, alpha]);
}

/**
 * One step of Keras 3's Adam for every weight in one kernel call (on wasm in a SIMD routine, four
 * lanes at a time: wasm-adam.ts). Inputs `value<i>`, `m<i>`, `v<i>`, `g<i>` for each weight and the
 * scalars `accBeta1`, `accBeta2` (β₁ᵗ⁻¹, β₂ᵗ⁻¹ as running products, kept for the checkpoint's sake);
 * outputs, in order, each weight's new value, m and v, then the next products. The arithmetic is
 * Keras's, op for op, each result rounded to float32 as TensorFlow's kernel's output would be:
 *   m' = m + (g − m)·(1−β₁)          v' = v + (g·g − v)·(1−β₂)
 *   value' = value − (m'·α) / (√v' + ε)
 * Keras's ε is the paper's "ε hat": it is added to √v, not to the bias-corrected √v̂ as in the
 * paper's Algorithm 1 and tfjs' Adam, so early steps, where √(1 − β₂ᵗ) is small, differ between the
 * two. Every step is an IEEE float32 operation (correctly rounded), so wasm's SIMD lanes and this
 * loop give the same floats as `kerasAdamUpdate` (fused-adam.ts) on the wasm and cpu backends.
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
      const scalars = [...adamScalars(attrs)];
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
      // tfjs' running products, as its own Adam keeps them (float32 products).
      outs[3 * count]![0] = acc1 * f(attrs.beta1);
      outs[3 * count + 1]![0] = acc2 * f(attrs.beta2);
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
 * before it): Math.fround after each operation gives the float32 result (a double holds every
 * float32 sum, product, quotient and root exactly enough for one rounding to float32 to be the
 * correctly rounded one).
 */
function adamLoop(a: AdamArrays, scalars: readonly number[], from: number): void {
  const [omb1, omb2, eps, alpha] = scalars as [number, number, number, number];
  const { value, m, v, g, outValue, outM, outV } = a;
  for (let j = from; j < value.length; j++) {
    const gj = g[j]!;
    const newM = f(m[j]! + f(f(gj - m[j]!) * omb1));
    const newV = f(v[j]! + f(f(f(gj * gj) - v[j]!) * omb2));
    outM[j] = newM;
    outV[j] = newV;
    outValue[j] = value[j]! - f(f(newM * alpha) / f(f(Math.sqrt(newV)) + eps));
  }
}
