/**
 * A/B benchmark of the custom kernels, on the model's shapes at batch 64:
 * `node --import tsx bench/kernels.ts [--backend wasm] [--repeats 30]`. For each custom kernel that
 * replaced a stock one, stock against custom (the native library where it loads); for the conv
 * gradients, each form they can take ("… native": the same sums on the native library); and the
 * wasm routines against the native library doing their work.
 * Contenders run interleaved (A, B, A, B, …) in one process and each figure is a median of process
 * CPU time, so that load from other processes on a shared machine hits every contender alike.
 * Prints one JSON object on stdout.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { stockKernel } from '../job/backend/kernels.js';
import { addKernel } from '../job/backend/kernels/add.js';
import { maxPoolGradKernel } from '../job/backend/kernels/max-pool-grad.js';
import { RELU_GRAD, reluGradKernel } from '../job/backend/kernels/relu-grad.js';
import { sumKernel } from '../job/backend/kernels/sum.js';
import { nativeConv } from '../job/backend/native-conv.js';
import { initBackend } from '../job/backend/select.js';
import { FILTER_GRAD_FORMS } from '../job/backend/kernels/conv2d-grads.js';
import { INPUT_GRAD_FORMS } from '../job/backend/kernels/conv2d-input-grad.js';
import { TensorAccess, type KernelBackendName } from '../job/backend/kernels/tensor-access.js';
import { UsageError } from '../job/errors.js';
import { cpuNowMs, median } from './timing.js';
import { positiveInt } from './flags.js';

const BATCH_SIZE = 64;
const WARMUP = 3;
/**
 * The non-zero share of every dy: as in training, where dy comes out of a 2×2 max-pool gradient
 * (≤ 1/4 non-zero) and a ReLU.
 */
const DY_DENSITY = 0.2;

interface Layer {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly filter: [number, number, number, number];
}

const LAYERS: readonly Layer[] = [
  { name: 'first layer', x: [BATCH_SIZE, 28, 28, 1], filter: [5, 5, 1, 16] },
  { name: 'second layer', x: [BATCH_SIZE, 12, 12, 16], filter: [5, 5, 16, 32] },
];

function sparseDy(shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.randomUniform(shape).mul(tf.randomUniform(shape).less(DY_DENSITY)));
}

/** Median CPU ms of each form, the forms interleaved. */
function race(forms: Record<string, () => tf.TensorInfo>, t: TensorAccess, repeats: number): Record<string, number> {
  const names = Object.keys(forms);
  const times = new Map(names.map((n) => [n, [] as number[]]));
  for (let i = 0; i < WARMUP + repeats; i++) {
    for (const name of names) {
      const started = cpuNowMs();
      const out = forms[name]!();
      const spent = cpuNowMs() - started;
      t.dispose(out);
      if (i >= WARMUP) times.get(name)!.push(spent);
    }
  }
  return Object.fromEntries(names.map((n) => [n, Number(median(times.get(n)!).toFixed(3))]));
}

interface KernelCase {
  readonly kernel: string;
  readonly inputs: Record<string, number[]>;
  readonly attrs: tf.NamedAttrMap;
  /** Where the kernel is replaced; every backend when absent. */
  readonly backend?: KernelBackendName;
}

const FORWARD = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 };

/** The model's calls of the kernels that replace stock ones (shapes from bench/kernel-profile.ts). */
const KERNEL_CASES: readonly KernelCase[] = [
  // The native forward convolution (job/backend/native-conv.ts): training runs Conv2D, evaluation FusedConv2D.
  ...LAYERS.flatMap((layer): KernelCase[] => [
    { kernel: 'Conv2D', inputs: { x: layer.x, filter: layer.filter }, attrs: FORWARD, backend: 'wasm' },
    {
      kernel: 'FusedConv2D',
      inputs: { x: layer.x, filter: layer.filter, bias: [layer.filter[3]] },
      attrs: { ...FORWARD, activation: 'relu' },
      backend: 'wasm',
    },
  ]),
  // The native ReLU and max-pooling (job/backend/kernels/relu-max-pool.ts) against XNNPACK's.
  { kernel: 'Relu', inputs: { x: [BATCH_SIZE, 24, 24, 16] }, attrs: {}, backend: 'wasm' },
  { kernel: 'MaxPool', inputs: { x: [BATCH_SIZE, 24, 24, 16] }, attrs: { filterSize: 2, strides: 2, pad: 'valid' }, backend: 'wasm' },
  { kernel: 'MaxPool', inputs: { x: [BATCH_SIZE, 8, 8, 32] }, attrs: { filterSize: 2, strides: 2, pad: 'valid' }, backend: 'wasm' },
  { kernel: 'Sum', inputs: { x: [BATCH_SIZE, 24, 24, 16] }, attrs: { axis: [0, 1, 2], keepDims: false } },
  { kernel: 'Sum', inputs: { x: [BATCH_SIZE, 8, 8, 32] }, attrs: { axis: [0, 1, 2], keepDims: false } },
  { kernel: 'Add', inputs: { a: [BATCH_SIZE, 24, 24, 16], b: [16] }, attrs: {} },
  { kernel: 'BatchMatMul', inputs: { a: [BATCH_SIZE, 32], b: [BATCH_SIZE, 128] }, attrs: { transposeA: true, transposeB: false } },
  { kernel: 'BatchMatMul', inputs: { a: [BATCH_SIZE, 128], b: [32, 128] }, attrs: { transposeA: false, transposeB: true } },
  { kernel: 'Identity', inputs: { x: [BATCH_SIZE, 24, 24, 16] }, attrs: {} },
  {
    kernel: 'MaxPoolGrad',
    inputs: { dy: [BATCH_SIZE, 12, 12, 16], input: [BATCH_SIZE, 24, 24, 16], output: [BATCH_SIZE, 12, 12, 16] },
    attrs: { filterSize: 2, strides: 2, pad: 'valid' },
  },
  {
    kernel: 'Conv2DBackpropInput',
    inputs: { dy: [BATCH_SIZE, 8, 8, 32], filter: [5, 5, 16, 32] },
    attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [BATCH_SIZE, 12, 12, 16] },
  },
];

function raceStockAndCustom(backendName: KernelBackendName, t: TensorAccess, repeats: number) {
  return KERNEL_CASES.filter((c) => c.backend === undefined || c.backend === backendName).map((c) => {
    const stock = stockKernel(c.kernel, backendName);
    const custom = tf.getKernel(c.kernel, backendName)!.kernelFunc;
    const inputs = Object.fromEntries(
      Object.entries(c.inputs).map(([name, shape]) => [name, name === 'dy' ? sparseDy(shape) : tf.randomUniform(shape)]),
    );
    const call = (f: tf.KernelFunc) => () => f({ inputs, attrs: c.attrs, backend: tf.backend() }) as tf.TensorInfo;
    const cpuMs = race(stock === undefined ? { custom: call(custom) } : { stock: call(stock), custom: call(custom) }, t, repeats);
    tf.dispose(Object.values(inputs));
    return { kernel: c.kernel, shapes: c.inputs, cpuMs };
  });
}

/** tfjs' ReLU gradient, mul(dy, cast(step(x))), against the fused kernel, on the first layer's activations. */
function raceReluGradient(backendName: KernelBackendName, t: TensorAccess, repeats: number) {
  const shape = [BATCH_SIZE, 24, 24, 16];
  const x = tf.randomUniform(shape, -1, 1);
  const dy = sparseDy(shape);
  const cpuMs = race(
    {
      stock: () => {
        const step = t.run('Step', { x }, { alpha: 0 });
        const mask = t.run('Cast', { x: step }, { dtype: 'float32' });
        const dx = t.run('Multiply', { a: dy, b: mask }, {});
        t.dispose(step);
        t.dispose(mask);
        return dx;
      },
      custom: () => t.run(RELU_GRAD, { dy, x }, {}),
    },
    t,
    repeats,
  );
  tf.dispose([x, dy]);
  return { kernel: `ReLU gradient (${backendName})`, shapes: { dy: shape, x: shape }, cpuMs };
}

/**
 * This project's wasm routines against the native library doing the same work (the ReLU gradient,
 * MaxPoolGrad, bias Add and Sum of the first layer), where it loads: the kernels built with and
 * without it.
 */
function raceNativeAgainstWasm(t: TensorAccess, repeats: number) {
  const lib = nativeConv();
  if (lib === null) return [];
  const shape = [BATCH_SIZE, 24, 24, 16];
  const x = tf.randomUniform(shape, -1, 1);
  const dy = sparseDy(shape);
  const pooled = tf.randomUniform([BATCH_SIZE, 12, 12, 16]);
  const bias = tf.randomUniform([16]);
  const pool = { filterSize: 2, strides: 2, pad: 'valid' };
  const cases: [string, (native: typeof nativeConv) => tf.KernelFunc, tf.NamedTensorInfoMap, tf.NamedAttrMap][] = [
    ['ReLU gradient', (n) => reluGradKernel('wasm', n), { dy, x }, {}],
    ['MaxPoolGrad', (n) => maxPoolGradKernel('wasm', n), { dy: pooled, input: x, output: pooled }, pool],
    ['Add (bias)', (n) => addKernel('wasm', stockKernel('Add', 'wasm'), n), { a: x, b: bias }, {}],
    ['Sum (bias gradient)', (n) => sumKernel('wasm', stockKernel('Sum', 'wasm'), n), { x }, { axis: [0, 1, 2], keepDims: false }],
  ];
  const results = cases.map(([kernel, build, inputs, attrs]) => {
    const call = (f: tf.KernelFunc) => () => f({ inputs, attrs, backend: tf.backend() }) as tf.TensorInfo;
    return { kernel, shape, cpuMs: race({ wasm: call(build(() => null)), native: call(build(() => lib)) }, t, repeats) };
  });
  tf.dispose([x, dy, pooled, bias]);
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string', default: 'wasm' }, repeats: { type: 'string', default: '30' } },
  });
  const repeats = positiveInt('repeats', values.repeats);
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new UsageError(`--backend ${values.backend} must be wasm or cpu`);
  const backendName: KernelBackendName = values.backend;
  await initBackend(backendName);
  const t = new TensorAccess(backendName, tf.backend());
  const results = [];
  for (const layer of LAYERS) {
    const info = tf.backend_util.computeConv2DInfo(layer.x, layer.filter, 1, 1, 'valid');
    const x = tf.randomUniform(layer.x);
    const dy = sparseDy(info.outShape);
    const filter = tf.randomUniform(layer.filter);
    const filterForms = Object.fromEntries(
      Object.entries(FILTER_GRAD_FORMS).map(([name, form]) => [name, () => form(t, x, dy, info)]),
    );
    const inputForms = Object.fromEntries(
      Object.entries(INPUT_GRAD_FORMS).map(([name, form]) => [name, () => form(t, dy, filter, info)]),
    );
    results.push({
      layer: layer.name,
      x: layer.x,
      filter: layer.filter,
      filterGradCpuMs: race(filterForms, t, repeats),
      inputGradCpuMs: race(inputForms, t, repeats),
    });
    tf.dispose([x, dy, filter]);
  }
  const kernels = [...raceStockAndCustom(backendName, t, repeats), raceReluGradient(backendName, t, repeats)];
  const nativeAgainstWasm = backendName === 'wasm' ? raceNativeAgainstWasm(t, repeats) : [];
  process.stdout.write(`${JSON.stringify({ backend: backendName, native: nativeConv()?.isa ?? null, repeats, convGradForms: results, kernels, nativeAgainstWasm }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kernels: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
