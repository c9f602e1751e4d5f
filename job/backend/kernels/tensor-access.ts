import * as tf from '@tensorflow/tfjs';

/** The backends whose kernels this project replaces or adds. */
export type KernelBackendName = 'wasm' | 'cpu';

/** The parts of the wasm backend the kernels use (not exported as a type by tfjs-backend-wasm's ESM entry). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  disposeData(dataId: object): boolean;
}

/** The parts of the cpu backend the kernels use. */
interface CpuBackendLike {
  data: { get(dataId: object): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * Typed-array access to tensors inside a kernel, for the two backends whose data lives in memory
 * JavaScript can reach: the wasm heap and the cpu backend's arrays.
 */
export class TensorAccess {
  constructor(
    readonly backendName: KernelBackendName,
    readonly backend: object,
  ) {}

  /**
   * The float32 values of `info`. On wasm this is a view into the heap, which a later allocation
   * may detach: take views only after every output of the kernel has been allocated.
   */
  float32(info: tf.TensorInfo): Float32Array {
    if (info.dtype !== 'float32') {
      throw new Error(`custom ${this.backendName} kernel expects float32 tensors, got ${info.dtype}`);
    }
    const values =
      this.backendName === 'wasm'
        ? (this.backend as WasmBackendLike).typedArrayFromHeap(info)
        : (this.backend as CpuBackendLike).data.get(info.dataId).values;
    return values as Float32Array;
  }

  /**
   * Allocates a float32 output of `shape`, lets `fill` write every element, and returns it.
   * The array handed to `fill` is not zeroed on wasm; `fill` must write all of it.
   */
  output(shape: number[], fill: (out: Float32Array) => void): tf.TensorInfo {
    if (this.backendName === 'wasm') {
      const wasm = this.backend as WasmBackendLike;
      const info = wasm.makeOutput(shape, 'float32');
      fill(wasm.typedArrayFromHeap(info) as Float32Array);
      return info;
    }
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(values);
    return (this.backend as CpuBackendLike).makeTensorInfo(shape, 'float32', values);
  }

  /**
   * Allocates several float32 outputs, then lets `fill` write every element of each: the views
   * are taken after the last allocation, so none is detached on wasm. Not zeroed on wasm.
   */
  outputs(shapes: readonly number[][], fill: (outs: Float32Array[]) => void): tf.TensorInfo[] {
    if (this.backendName === 'wasm') {
      const wasm = this.backend as WasmBackendLike;
      const infos = shapes.map((shape) => wasm.makeOutput(shape, 'float32'));
      fill(infos.map((info) => wasm.typedArrayFromHeap(info) as Float32Array));
      return infos;
    }
    const values = shapes.map((shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)));
    fill(values);
    const cpu = this.backend as CpuBackendLike;
    return shapes.map((shape, i) => cpu.makeTensorInfo(shape, 'float32', values[i]!));
  }

  /** Runs another kernel of the same backend directly, the way backends compose their own kernels. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    }
    return config.kernelFunc({ inputs, backend: this.backend, attrs }) as tf.TensorInfo;
  }

  /** The same data under another shape of the same size, without a copy (both backends share it). */
  reshape(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x: info }, { shape });
  }

  /** Frees an intermediate produced by `run` or `output`. */
  dispose(info: tf.TensorInfo): void {
    (this.backend as WasmBackendLike | CpuBackendLike).disposeData(info.dataId);
  }
}
