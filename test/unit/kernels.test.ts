import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerCustomKernels, stockKernel } from '../../job/backend/kernels.js';
import { initBackend } from '../../job/backend/select.js';
import { createModel } from '../../job/model.js';
import { axpyFor } from '../../job/backend/kernels/wasm-axpy.js';
import { mulberry32 } from '../support/fake-dataset.js';

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

interface KernelCase {
  readonly name: string;
  readonly kernel: string;
  /** Input names, shapes and, optionally, how to draw the values. */
  readonly inputs: Record<string, { shape: number[]; draw?: Draw }>;
  readonly attrs: tf.NamedAttrMap;
}

/** 'relu': coarse values with ties; 'sparse': 80 % zeros, as dy after a 2×2 max-pool gradient and ReLU. */
type Draw = 'relu' | 'sparse';

/** A small deterministic generator (mulberry32), so every backend sees the same numbers. */
function randomArray(size: number, seed: number, draw?: Draw): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = next();
    // Coarse values after ReLU give the ties max-pooling meets in training.
    if (draw === 'relu') out[i] = Math.max(0, Math.round(u * 8) - 4);
    else if (draw === 'sparse') out[i] = u < 0.8 ? 0 : u * 10 - 9;
    else out[i] = u * 2 - 1;
  }
  return out;
}

function convCase(name: string, x: number[], filter: number[], pad: Pad, strides = 1, dyDraw?: Draw): KernelCase[] {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    strides,
    1,
    pad,
  );
  const base = { strides, pad, dataFormat: 'NHWC' };
  return [
    {
      name: `Conv2DBackpropFilter ${name}`,
      kernel: 'Conv2DBackpropFilter',
      inputs: { x: { shape: x }, dy: { shape: info.outShape, draw: dyDraw } },
      attrs: { ...base, filterShape: filter },
    },
    {
      name: `Conv2DBackpropInput ${name}`,
      kernel: 'Conv2DBackpropInput',
      inputs: { dy: { shape: info.outShape, draw: dyDraw }, filter: { shape: filter } },
      attrs: { ...base, inputShape: x },
    },
  ];
}

function poolCase(name: string, x: number[], filterSize: number, strides: number, pad: 'valid' | 'same'): KernelCase {
  const info = tf.backend_util.computePool2DInfo(x as [number, number, number, number], filterSize, strides, 1, pad);
  return {
    name: `MaxPoolGrad ${name}`,
    kernel: 'MaxPoolGrad',
    inputs: { input: { shape: x, draw: 'relu' }, dy: { shape: info.outShape } },
    attrs: { filterSize, strides, pad },
  };
}

function sumCase(name: string, x: number[], axis: number[], keepDims: boolean): KernelCase {
  return { name: `Sum ${name}`, kernel: 'Sum', inputs: { x: { shape: x } }, attrs: { axis, keepDims } };
}

function addCase(name: string, a: number[], b: number[]): KernelCase {
  return { name: `Add ${name}`, kernel: 'Add', inputs: { a: { shape: a }, b: { shape: b } }, attrs: {} };
}

function matMulCase(name: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean): KernelCase {
  return { name: `BatchMatMul ${name}`, kernel: 'BatchMatMul', inputs: { a: { shape: a }, b: { shape: b } }, attrs: { transposeA, transposeB } };
}

const CASES: KernelCase[] = [
  matMulCase('aᵀ·b, as in a dense layer weight gradient', [64, 32], [64, 128], true, false),
  matMulCase('a·bᵀ, as in a dense layer input gradient', [64, 128], [32, 128], false, true),
  matMulCase('aᵀ·bᵀ, odd sizes', [5, 3], [7, 5], true, true),
  matMulCase('batch of one, rank 3, a·bᵀ', [1, 6, 10], [1, 9, 10], false, true),
  matMulCase('ranks 3 and 2, aᵀ·b', [1, 4, 3], [4, 5], true, false),
  matMulCase('batch of two (stock kernel)', [2, 4, 3], [2, 4, 5], true, false),
  matMulCase('no transposes (stock kernel)', [3, 4], [4, 5], false, false),
  addCase('of a bias, the first model layer', [5, 24, 24, 16], [16]),
  addCase('of a bias, batch 1, four channels', [1, 3, 5, 4], [4]),
  addCase('of a bias over a matrix', [7, 8], [8]),
  addCase('of a bias not a multiple of 4 (stock kernel)', [2, 3, 6], [6]),
  addCase('of two full tensors (stock kernel)', [2, 3, 4], [2, 3, 4]),
  addCase('broadcasting the other way (stock kernel)', [4], [3, 4]),
  sumCase('over batch, height and width (a bias gradient)', [5, 24, 24, 16], [0, 1, 2], false),
  sumCase('over leading axes, negative and unordered, keepDims', [3, 7, 5], [-2, 0], true),
  sumCase('rows not a multiple of the block', [1, 1, 1030, 1], [0, 1, 2], false),
  sumCase('rows longer than a block', [3, 2000], [0], false),
  sumCase('over trailing axes (stock kernel)', [4, 6, 5], [1, 2], false),
  sumCase('over every axis (stock kernel)', [4, 6], [0, 1], false),
  ...convCase('batch 1, odd sizes, VALID', [1, 7, 9, 3], [3, 2, 3, 4], 'valid'),
  ...convCase('the first model layer, VALID', [4, 28, 28, 1], [5, 5, 1, 16], 'valid'),
  ...convCase('the second model layer, VALID', [3, 12, 12, 16], [5, 5, 16, 32], 'valid'),
  ...convCase('odd sizes, SAME', [2, 9, 6, 5], [5, 3, 5, 7], 'same'),
  ...convCase('explicit padding', [1, 6, 5, 2], [3, 3, 2, 3], [[0, 0], [1, 2], [0, 1], [0, 0]]),
  ...convCase('one channel, batch 1, odd sizes, SAME', [1, 11, 7, 1], [5, 3, 1, 6], 'same'),
  ...convCase('four channels, padding wider than the image on one side', [3, 4, 5, 4], [3, 5, 4, 2], [[0, 0], [2, 0], [0, 4], [0, 0]]),
  ...convCase('five channels, VALID', [2, 8, 7, 5], [3, 3, 5, 3], 'valid'),
  // Unpadded, output width a multiple of 4: the filter gradient by image rows on wasm.
  ...convCase('three channels, 3 output channels per call', [2, 9, 6, 3], [2, 3, 3, 6], 'valid'),
  ...convCase('seven taps, an odd number of output channels', [1, 5, 14, 2], [3, 7, 2, 5], 'valid'),
  // One input channel, output channels in fours: the filter gradient by pixels on wasm.
  ...convCase('one channel, twelve output channels, seven taps', [2, 9, 13, 1], [3, 7, 1, 12], 'valid'),
  ...convCase('one channel, four output channels, batch 1', [1, 6, 5, 1], [2, 3, 1, 4], 'valid'),
  // Mostly-zero dy, long enough runs: the sparse forms on wasm.
  ...convCase('sparse dy, the second model layer', [3, 12, 12, 16], [5, 5, 16, 32], 'valid', 1, 'sparse'),
  ...convCase('sparse dy, batch 1, odd sizes, run not a multiple of 4', [1, 9, 7, 6], [3, 3, 6, 5], 'valid', 1, 'sparse'),
  ...convCase('sparse dy, SAME', [2, 9, 6, 5], [5, 4, 5, 7], 'same', 1, 'sparse'),
  ...convCase('sparse dy, explicit padding', [2, 6, 7, 8], [3, 4, 8, 3], [[0, 0], [2, 1], [0, 3], [0, 0]], 1, 'sparse'),
  ...convCase('sparse dy, one channel (dense forms)', [2, 12, 12, 1], [5, 5, 1, 16], 'valid', 1, 'sparse'),
  poolCase('2x2 stride 2, the first model layer', [5, 24, 24, 16], 2, 2, 'valid'),
  poolCase('2x2 stride 2, batch 1, odd sizes', [1, 7, 9, 3], 2, 2, 'valid'),
  poolCase('2x2 stride 2, channels in fours, odd sizes (SIMD on wasm)', [2, 7, 9, 8], 2, 2, 'valid'),
  poolCase('2x2 stride 2, four channels, batch 1 (SIMD on wasm)', [1, 4, 6, 4], 2, 2, 'valid'),
  poolCase('2x2 stride 2, SAME, odd sizes', [2, 5, 7, 3], 2, 2, 'same'),
  poolCase('3x3 stride 2, SAME (overlapping windows)', [2, 9, 8, 4], 3, 2, 'same'),
  poolCase('3x3 stride 1, VALID', [1, 6, 7, 2], 3, 1, 'valid'),
];

/** Strides the custom conv kernels leave to the stock kernels. */
const [STRIDED_FILTER, STRIDED_INPUT] = convCase('stride 2', [2, 9, 9, 3], [3, 3, 3, 4], 'valid', 2) as [KernelCase, KernelCase];

function runCase(c: KernelCase): Float32Array {
  const tensors: tf.NamedTensorMap = {};
  let seed = 1;
  for (const [name, input] of Object.entries(c.inputs)) {
    const size = input.shape.reduce((a, b) => a * b, 1);
    tensors[name] = tf.tensor(randomArray(size, seed++, input.draw), input.shape);
  }
  if (c.kernel === 'MaxPoolGrad') {
    tensors.output = tf.maxPool(tensors.input as tf.Tensor4D, c.attrs.filterSize as number, c.attrs.strides as number, c.attrs.pad as 'valid');
  }
  const out = tf.engine().runKernel(c.kernel, tensors, c.attrs) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  tf.dispose([out, ...Object.values(tensors)]);
  return values;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const tolerance = 1e-5 + 1e-5 * scale;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= tolerance,
    `${what}: |actual − expected| = ${worst} at ${at} (actual ${actual[at]}, expected ${expected[at]}) > ${tolerance}`,
  );
}

/** ReLU's gradient through tf.grad, against dy where x > 0 else 0, on an odd length with zeros. */
function checkReluGradient(): void {
  const size = 4 * 257 + 3;
  const xs = randomArray(size, 11);
  for (let i = 0; i < size; i += 7) xs[i] = 0;
  const dys = randomArray(size, 12);
  const [x, dy] = [tf.tensor(xs, [size]), tf.tensor(dys, [size])];
  const grad = tf.grad((v: tf.Tensor) => tf.relu(v).mul(dy).sum())(x);
  const expected = dys.map((g, i) => (xs[i]! > 0 ? g : 0));
  assert.deepEqual(grad.dataSync(), expected);
  tf.dispose([x, dy, grad]);
}

const reference = new Map<string, Float32Array>();

before(async () => {
  // The stock cpu kernels are the reference, so they are run before any custom cpu kernel exists.
  await tf.setBackend('cpu');
  for (const name of [...CPU_FORMS, ...WASM_ONLY]) assert.equal(stockKernel(name, 'cpu'), undefined, `cpu ${name} is still stock`);
  for (const c of [...CASES, STRIDED_FILTER, STRIDED_INPUT]) reference.set(c.name, runCase(c));
});

describe('custom wasm kernels', () => {
  before(async () => {
    assert.equal((await initBackend('wasm')).backend, 'wasm');
  });

  for (const c of CASES) {
    test(`${c.name} matches the stock cpu kernel`, () => {
      const registered = tf.getKernel(c.kernel, 'wasm');
      assert.ok(registered && registered.kernelFunc !== stockKernel(c.kernel, 'wasm'), `the custom wasm ${c.kernel} is registered`);
      assertClose(runCase(c), reference.get(c.name)!, c.name);
    });
  }

  test("ReLU's gradient is one fused kernel: dy where x > 0, else 0", () => {
    assert.ok(tf.getKernel('MixupReluGrad', 'wasm'));
    checkReluGradient();
  });

  test('kernels are deterministic: a second run is bit-identical', () => {
    for (const c of CASES) assert.deepEqual(runCase(c), runCase(c), c.name);
  });

  test('Identity shares the data, and the copy outlives its source', () => {
    const source = tf.tensor(randomArray(6 * 5, 3), [6, 5]);
    const expected = source.dataSync().slice();
    const buffers = () => tf.backend().numDataIds();
    const before = buffers();
    const copy = tf.clone(source);
    assert.equal(buffers(), before, 'no new buffer for the copy');
    source.dispose();
    assert.deepEqual(copy.dataSync(), expected);
    copy.dispose();
    assert.equal(buffers(), before - 1, 'freed once both are disposed');
  });

  test('Identity of a string tensor still works (stock kernel)', () => {
    const copy = tf.clone(tf.tensor(['a', 'bc']));
    assert.deepEqual(copy.dataSync(), ['a', 'bc']);
  });

  test('Conv2DBackpropInput with stride 2 falls back to the stock wasm kernel', () => {
    assertClose(runCase(STRIDED_INPUT), reference.get(STRIDED_INPUT.name)!, STRIDED_INPUT.name);
  });

  test('Conv2DBackpropFilter with stride 2 fails clearly on wasm, which has no stock kernel', () => {
    assert.throws(
      () => runCase(STRIDED_FILTER),
      /Conv2DBackpropFilter on the wasm backend does not support strides \[2, 2\] \(only stride 1\)/,
    );
  });

  test('model weight gradients on wasm match the cpu backend', async () => {
    const gradients = async (backend: 'cpu' | 'wasm', weights: tf.Tensor[] | null) => {
      await tf.setBackend(backend);
      const model = createModel();
      if (weights !== null) model.setWeights(weights);
      const x = tf.tensor(randomArray(2 * 28 * 28, 7), [2, 28, 28, 1]).div(2).add(0.5);
      const y = tf.oneHot(tf.tensor1d([3, 9], 'int32'), 10);
      const { grads } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: false }) as tf.Tensor).asScalar(),
      );
      const names = model.trainableWeights.map((w) => w.originalName);
      const values = model.trainableWeights.map((w) => grads[w.originalName]!.dataSync() as Float32Array);
      const initial = model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape));
      return { names, values, initial };
    };
    const cpu = await gradients('cpu', null);
    await tf.setBackend('wasm');
    const wasm = await gradients('wasm', cpu.initial);
    cpu.values.forEach((expected, i) => assertClose(wasm.values[i]!, expected, cpu.names[i]!));
  });
});

describe('hand-assembled wasm routines', () => {
  test('a wasm build without an exported memory gets no routine (the kernels keep their other forms)', () => {
    const noMemory = { _malloc: () => 0, _free: () => undefined, HEAPU8: new Uint8Array(0) };
    assert.equal(axpyFor(noMemory as unknown as Parameters<typeof axpyFor>[0]), null);
  });

  test('axpy adds v · src into dst for runs of every length class (16s, 4s, single floats)', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const axpy = axpyFor({ asm: { memory }, _malloc: () => 0, _free: () => undefined, HEAPU8: new Uint8Array(memory.buffer) });
    assert.ok(axpy, 'WebAssembly SIMD is available in Node 20');
    const f32 = new Float32Array(memory.buffer);
    const u32 = new Uint32Array(memory.buffer);
    const [src, dst, list] = [4096, 8192, 16384];
    for (const length of [0, 1, 3, 4, 7, 16, 37, 80, 83]) {
      for (let i = 0; i < 100; i++) [f32[src / 4 + i], f32[dst / 4 + i]] = [i + 1, 100];
      // Two entries over the same destination: they add up, in order.
      for (const [e, v] of [[0, 2], [1, -0.5]] as const) {
        f32[list / 4 + 4 * e] = v;
        [u32[list / 4 + 4 * e + 1], u32[list / 4 + 4 * e + 2], u32[list / 4 + 4 * e + 3]] = [src, dst, length];
      }
      axpy!(list, 2);
      const expected = Array.from({ length: 100 }, (_, i) => (i < length ? 100 + 1.5 * (i + 1) : 100));
      assert.deepEqual(Array.from(f32.subarray(dst / 4, dst / 4 + 100)), expected, `length ${length}`);
    }
  });
});

/** Kernels with a custom form on cpu; Sum, Add and BatchMatMul have wasm forms only. */
const CPU_FORMS = new Set(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']);
const WASM_ONLY = ['Sum', 'Add', 'BatchMatMul'];

describe('custom cpu kernels', () => {
  // Calls into the stock cpu kernels, which are wrapped before the custom ones capture them as their
  // fallback: a case counts as a custom-kernel check only if the stock kernel never ran.
  const stockCalls = new Map<string, number>();
  before(async () => {
    await tf.setBackend('cpu');
    for (const name of [...CPU_FORMS, ...WASM_ONLY]) {
      const kernel = tf.getKernel(name, 'cpu');
      assert.ok(kernel, `stock cpu ${name}`);
      tf.unregisterKernel(name, 'cpu');
      const kernelFunc: tf.KernelFunc = (args) => {
        stockCalls.set(name, (stockCalls.get(name) ?? 0) + 1);
        return kernel.kernelFunc(args);
      };
      tf.registerKernel({ ...kernel, kernelFunc });
    }
    registerCustomKernels('cpu');
  });

  const stockRuns = (c: KernelCase) => {
    stockCalls.clear();
    const values = runCase(c);
    return { values, calls: stockCalls.get(c.kernel) ?? 0 };
  };

  for (const c of CASES.filter((c) => CPU_FORMS.has(c.kernel))) {
    test(`${c.name} matches the stock cpu kernel`, () => {
      const { values, calls } = stockRuns(c);
      assert.equal(calls, 0, `the stock cpu ${c.kernel} ran: this would compare it with itself`);
      assertClose(values, reference.get(c.name)!, c.name);
    });
  }

  test('Sum, Add and BatchMatMul have no cpu form (the stock kernel runs), so only wasm checks them', () => {
    for (const c of CASES.filter((c) => WASM_ONLY.includes(c.kernel))) {
      assert.ok(stockRuns(c).calls > 0, `${c.name}: a custom cpu form ran; add ${c.kernel} to CPU_FORMS`);
    }
  });

  test("ReLU's gradient on cpu: dy where x > 0, else 0", () => {
    assert.ok(tf.getKernel('MixupReluGrad', 'cpu'));
    checkReluGradient();
  });

  test('conv gradients with stride 2 fall back to the stock cpu kernels', () => {
    for (const c of [STRIDED_FILTER, STRIDED_INPUT]) {
      const { values, calls } = stockRuns(c);
      assert.equal(calls, 1, c.name);
      assertClose(values, reference.get(c.name)!, c.name);
    }
  });

  test('registering twice keeps one custom kernel and the stock fallback', () => {
    const before = tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc;
    registerCustomKernels('cpu');
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc, before);
    assertClose(runCase(STRIDED_FILTER), reference.get(STRIDED_FILTER.name)!, STRIDED_FILTER.name);
  });
});
