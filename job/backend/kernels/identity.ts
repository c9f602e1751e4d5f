import type * as tf from '@tensorflow/tfjs';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * Identity without a copy: the output shares the input's data and the backend's reference count
 * keeps it alive until both are disposed. This is what the cpu backend and wasm's own Reshape do;
 * wasm's stock Identity copies: three copies of the first layer's 2.4 MB activation gradient per
 * train step, from clone() in the gradient tape (bench/FIGURES.md). Sound because no
 * kernel of either backend writes into its inputs.
 */
export function identityKernel(stock: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    // wasm keeps strings outside its heap, with their own handling.
    if (x.dtype === 'string' && stock !== undefined) return stock(args);
    (backend as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
