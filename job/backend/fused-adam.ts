import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, type AdamAttrs } from './kernels/adam.js';

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
 * tfjs' Adam with its update as one kernel call for all weights where the backend has the fused
 * kernel (wasm and cpu, with this project's kernels), and tfjs' own update elsewhere. It keeps the
 * stock optimizer's state, names and weights, so checkpoints, `getWeights` and `setWeights` work
 * as before, and its floats are the stock ones bit for bit: the stock update runs 14 kernels per
 * weight, and per-call overhead, not arithmetic, was most of their cost.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const variables = tf.engine().registeredVariables;
    const inputs: tf.NamedTensorMap = {};
    const updated: { value: tf.Variable; m: tf.Variable; v: tf.Variable }[] = [];
    names.forEach((name, i) => {
      const value = variables[name]!;
      // Created lazily and named as the stock optimizer does, for the same getWeights().
      state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
      if (gradient == null) return;
      const k = updated.length;
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      Object.assign(inputs, { [`value${k}`]: value, [`m${k}`]: m, [`v${k}`]: v, [`g${k}`]: gradient });
      updated.push({ value, m, v });
    });
    inputs['accBeta1'] = state.accBeta1;
    inputs['accBeta2'] = state.accBeta2;
    const attrs: AdamAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      count: updated.length,
    };
    tf.tidy(() => {
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
