import * as tf from '@tensorflow/tfjs';
import { DROPOUT, type DropoutAttrs } from './kernels/dropout.js';

type Kwargs = Record<string, unknown>;

/** tfjs-layers' Dropout class, which tf.layers exposes only through its factory. */
const StockDropout = tf.layers.dropout({ rate: 0.5 }).constructor as new (args: { rate: number }) => tf.layers.Layer;

/** The fields of tfjs-layers' Dropout this layer reads (private in its type declaration). */
interface DropoutFields {
  rate: number;
  seed?: number;
  noiseShape?: unknown;
}

/**
 * tfjs-layers' Dropout, with its training pass as one kernel call (and one for the gradient) where
 * the backend has this project's kernel: the same mask and floats as tfjs' dropout op, which is
 * randomUniform on the host and four kernels. Everything else (inference, a noise shape, no seed,
 * other backends) is the stock layer. Its class name stays 'Dropout', so a saved model.json is the
 * stock one and loads anywhere.
 */
export class FusedDropout extends StockDropout {
  static readonly className = 'Dropout';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const { rate, seed, noiseShape } = this as unknown as DropoutFields;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const fused =
      kwargs['training'] === true &&
      seed != null &&
      noiseShape == null &&
      rate > 0 &&
      rate < 1 &&
      input !== undefined &&
      (!Array.isArray(inputs) || inputs.length === 1) &&
      input.dtype === 'float32' &&
      tf.getKernel(DROPOUT, tf.getBackend()) !== undefined;
    if (!fused) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const attrs: DropoutAttrs = { rate, seed: String(seed) };
      return tf.engine().runKernel(DROPOUT, { x: input }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
  }
}
