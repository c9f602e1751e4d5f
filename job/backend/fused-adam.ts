import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, adamScalars, type AdamAttrs } from './kernels/adam.js';

/** What `applyGradients` receives (tfjs-core's NamedVariableMap | NamedTensor[], not re-exported). */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** The stock optimizer's state, private in its type declaration but plain fields at run time. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/**
 * Keras 3's Adam (keras/src/optimizers/adam.py `update_step`), which the Keras example trains with:
 *   m ← m + (g − m)(1 − β₁),  v ← v + (g² − v)(1 − β₂),  w ← w − (m · α) / (√v + ε),
 *   α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ).
 * tfjs' own Adam puts ε on the bias-corrected √v̂ instead (the paper's Algorithm 1): over the first
 * three steps that moves a weight with gradients of 1e-4 2 % further than Keras, one with gradients of
 * 1e-6 three times as far (test/unit/adam.test.ts; docs/keras-parity.md measures the effect on training).
 * The update is one kernel call for all weights where the backend has this project's kernel (wasm and
 * cpu), and the same arithmetic in tfjs ops elsewhere, with the same floats on wasm and cpu. It keeps
 * the stock optimizer's state, names and weights (its moments, its iteration count, its running β
 * products), so checkpoints, `getWeights` and `setWeights` work as before.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const variables = tf.engine().registeredVariables;
    const updated: { value: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor }[] = [];
    names.forEach((name, i) => {
      const value = variables[name]!;
      // Created lazily and named as the stock optimizer does, for the same getWeights().
      state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const g = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
      if (g == null) return;
      updated.push({ value, m: state.accumulatedFirstMoment[i]!.variable, v: state.accumulatedSecondMoment[i]!.variable, g });
    });
    const attrs: AdamAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      step: this.iterations + 1,
      count: updated.length,
    };
    tf.tidy(() => {
      if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) === undefined) {
        kerasAdamUpdate(updated, attrs);
        state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
        state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
        return;
      }
      const inputs: tf.NamedTensorMap = { accBeta1: state.accBeta1, accBeta2: state.accBeta2 };
      updated.forEach(({ value, m, v, g }, k) => Object.assign(inputs, { [`value${k}`]: value, [`m${k}`]: m, [`v${k}`]: v, [`g${k}`]: g }));
      const outs = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      updated.forEach(({ value, m, v }, k) => {
        value.assign(outs[3 * k]!);
        m.assign(outs[3 * k + 1]!);
        v.assign(outs[3 * k + 2]!);
      });
      state.accBeta1.assign(outs[3 * updated.length]!);
      state.accBeta2.assign(outs[3 * updated.length + 1]!);
    });
    this.incrementIterations();
  }
}

/** Keras's update in tfjs ops, op for op as the kernel computes it, for backends without the kernel. */
function kerasAdamUpdate(updated: { value: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor }[], attrs: AdamAttrs): void {
  const [omb1, omb2, eps, alpha] = [...adamScalars(attrs)].map((x) => tf.scalar(x));
  for (const { value, m, v, g } of updated) {
    const newM = tf.add(m, tf.mul(tf.sub(g, m), omb1!));
    const newV = tf.add(v, tf.mul(tf.sub(tf.square(g), v), omb2!));
    value.assign(tf.sub(value, tf.div(tf.mul(newM, alpha!), tf.add(tf.sqrt(newV), eps!))));
    m.assign(newM);
    v.assign(newV);
  }
}
