import * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;
type Activation = { getClassName(): string; apply(x: tf.Tensor): tf.Tensor };

/** tfjs-layers' Dense class, which tf.layers exposes only through its factory. */
const StockDense = tf.layers.dense({ units: 1 }).constructor as new (args: Parameters<typeof tf.layers.dense>[0]) => tf.layers.Layer;

/**
 * The identity, under a class name tfjs-layers' Dense does not fuse into its matMul, so the layer
 * takes its unfused path (dot, then bias add) exactly as it does before a softmax.
 */
const PASS_THROUGH: Activation = { getClassName: () => 'MixupLogits', apply: (x) => x };

const logitsByOutput = new WeakMap<tf.Tensor, tf.Tensor>();

/**
 * tfjs-layers' Dense which, when its activation is softmax, leaves the logits it applied the softmax to
 * beside its output, as Keras 3's softmax does (`output._keras_logits`): Keras's categorical
 * cross-entropy then computes from the logits (log-softmax, no clipping), and so does this project's
 * (fused-loss.ts). The output is the stock layer's, float for float, and its class name stays
 * 'Dense', so a saved model.json is the stock one and loads anywhere. The logits live in the caller's
 * tf.tidy scope, like every other intermediate tensor of the call.
 */
export class SoftmaxDense extends StockDense {
  static readonly className = 'Dense';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as { activation: Activation };
    const activation = self.activation;
    if (activation.getClassName() !== 'softmax') return super.call(inputs, kwargs);
    self.activation = PASS_THROUGH;
    let logits: tf.Tensor;
    try {
      logits = super.call(inputs, kwargs) as tf.Tensor;
    } finally {
      self.activation = activation;
    }
    const probs = activation.apply(logits);
    logitsByOutput.set(probs, logits);
    return probs;
  }
}

/** The logits a SoftmaxDense applied its softmax to, for its output `probs`; undefined for any other tensor. */
export function logitsOf(probs: tf.Tensor): tf.Tensor | undefined {
  return logitsByOutput.get(probs);
}
