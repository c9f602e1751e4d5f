import * as tf from '@tensorflow/tfjs';

export const IMAGE_SIZE = 28;
export const NUM_CLASSES = 10;

/**
 * The Keras example's CNN. A factory, not a singleton: each arm gets a fresh model that is then
 * loaded with the shared initial weights.
 */
export function createModel(): tf.LayersModel {
  const model = tf.sequential({ name: 'mixup_cnn' });
  model.add(
    tf.layers.conv2d({
      inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1],
      filters: 16,
      kernelSize: 5,
      activation: 'relu',
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 5, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.dropout({ rate: 0.2 }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  model.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax' }));
  return model;
}
