import * as tf from '@tensorflow/tfjs';

import { FusedDropout } from './backend/fused-dropout.js';
import { SoftmaxDense } from './backend/softmax-dense.js';
import { deriveSeed } from './random.js';
import { CLASS_COUNT, IMAGE_COLS, IMAGE_ROWS } from './shared/fashion-mnist.js';


/**
 * The Keras example's CNN. A factory, not a singleton: each arm gets a fresh model that is then
 * loaded with the shared initial weights. Keras' defaults (Glorot-uniform kernels, zero biases),
 * seeded per layer so that the initial weights are a function of the run seed alone.
 */
export function createModel(seed = 0): tf.Sequential {
  let layer = 0;
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: deriveSeed(seed, 'init', layer++) });
  const model = tf.sequential({ name: 'mixup_cnn' });
  model.add(
    tf.layers.conv2d({
      inputShape: [IMAGE_ROWS, IMAGE_COLS, 1],
      filters: 16,
      kernelSize: 5,
      activation: 'relu',
      kernelInitializer: kernelInitializer(),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 5, activation: 'relu', kernelInitializer: kernelInitializer() }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  // tfjs-layers' Dropout, its training pass fused where the backend allows (the same floats).
  model.add(new FusedDropout({ rate: 0.2 }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: kernelInitializer() }));
  // tfjs-layers' Dense, leaving its logits beside its softmax output for the loss, as Keras's softmax does.
  model.add(new SoftmaxDense({ units: CLASS_COUNT, activation: 'softmax', kernelInitializer: kernelInitializer() }));
  return model;
}

/**
 * Points the model's dropout layers at a new seed. tfjs' Dropout re-seeds its mask generator from
 * `seed` on every call, so a fixed seed would drop the same units every step and no seed would
 * draw from Math.random; a seed per step keeps runs reproducible and resumable.
 */
export function setDropoutSeed(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed: number }).seed = seed;
  }
}
