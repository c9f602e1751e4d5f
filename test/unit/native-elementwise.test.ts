import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { addKernel } from '../../job/backend/kernels/add.js';
import { maxPoolGradKernel } from '../../job/backend/kernels/max-pool-grad.js';
import { maxPoolKernel, reluKernel } from '../../job/backend/kernels/relu-max-pool.js';
import { reluGradKernel } from '../../job/backend/kernels/relu-grad.js';
import { sumKernel } from '../../job/backend/kernels/sum.js';
import { stockKernel } from '../../job/backend/kernels.js';
import { loadNativeConv, nativeConv, type NativeConv } from '../../job/backend/native-conv.js';
import { initBackend } from '../../job/backend/select.js';
import { mulberry32 } from '../support/fake-dataset.js';
import { bitDifferences, tensorInfoBits } from '../support/float-bits.js';

/**
 * The native element-wise kernels (native/elementwise.c) against the kernels they replace on wasm,
 * bit for bit, on every instruction set this CPU has: ReLU and MaxPool against the stock (XNNPACK)
 * kernels, the ReLU gradient, MaxPoolGrad, bias Add and bias Sum against this project's wasm
 * routines; with NaN of both signs and with a payload, ±∞, ±0 and subnormals, and with the ties
 * that ReLU leaves (many equal values in a pooling window).
 */

const SPECIALS = [0x7fc00000, 0xffc00000, 0x7fc01234, 0x7f800000, 0xff800000, 0x80000000, 0, 0x000003e8, 0x80011170, 0x7f61b1e6, 0xff61b1e6];

type Draw = 'plain' | 'special' | 'ties';

/** Values in [-1, 1); 'special': every 7th a special value (as bits); 'ties': coarse values, zeros of both signs. */
function values(size: number, seed: number, draw: Draw): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < size; i++) {
    if (draw === 'ties') out[i] = Math.max(0, Math.round(next() * 6) - 3) * (next() < 0.5 ? 1 : -1);
    else out[i] = next() * 2 - 1;
    if (draw === 'special' && next() < 1 / 7) words[i] = SPECIALS[Math.floor(next() * SPECIALS.length)]!;
  }
  return out;
}

/** Every arrangement of eight values (±NaN, ±∞, ±0, ±1) in a 2×2 window: 4,096 windows of 16 channels, as [1, 2, 8192, 16]. */
function everyWindow(): tf.Tensor {
  const set = [0x7fc00000, 0xffc00000, 0xff800000, 0x7f800000, 0x80000000, 0, 0x3f800000, 0xbf800000];
  const windows = set.length ** 4;
  const words = new Uint32Array(4 * windows * 16);
  for (let k = 0; k < windows; k++) {
    const [a, b, c, d] = [k % 8, (k >> 3) % 8, (k >> 6) % 8, (k >> 9) % 8].map((i) => set[i]!);
    for (let ch = 0; ch < 16; ch++) {
      // Channels see the window rotated, so every lane meets every arrangement.
      const [p, q, r, s] = [[a, b, c, d], [b, c, d, a], [c, d, a, b], [d, a, b, c]][ch % 4]!;
      words[(2 * k) * 16 + ch] = p!;
      words[(2 * k + 1) * 16 + ch] = q!;
      words[(2 * windows + 2 * k) * 16 + ch] = r!;
      words[(2 * windows + 2 * k + 1) * 16 + ch] = s!;
    }
  }
  return tf.tensor(new Float32Array(words.buffer), [1, 2, 2 * windows, 16]);
}

function assertSameBits(ours: tf.TensorInfo, theirs: tf.TensorInfo, what: string): void {
  assert.deepEqual(ours.shape, theirs.shape, what);
  const [a, b] = [tensorInfoBits(ours), tensorInfoBits(theirs)];
  const { differing, first } = bitDifferences(a, b);
  assert.equal(differing, 0, `${what}: ${differing} of ${a.length} differ, first at ${first}: 0x${a[first]?.toString(16)} against 0x${b[first]?.toString(16)}`);
}

function call(kernel: tf.KernelFunc, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
  return kernel({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
}

const POOL = { filterSize: 2, strides: 2, pad: 'valid' } as const;

/** The kernels on `native` (or wasm alone with null). */
function kernelsOn(native: NativeConv | null) {
  const lib = () => native;
  return {
    Relu: reluKernel(stockKernel('Relu', 'wasm'), lib),
    MaxPool: maxPoolKernel(stockKernel('MaxPool', 'wasm'), lib),
    ReluGrad: reluGradKernel('wasm', lib),
    MaxPoolGrad: maxPoolGradKernel('wasm', lib),
    Add: addKernel('wasm', stockKernel('Add', 'wasm'), lib),
    Sum: sumKernel('wasm', stockKernel('Sum', 'wasm'), lib),
  };
}

// Activation shapes: the model's two conv layers (batch 4), odd heights and widths, 32 channels, a dense layer.
const SHAPES: number[][] = [
  [4, 24, 24, 16],
  [3, 8, 8, 32],
  [2, 9, 7, 32],
  [1, 2, 2, 16],
];

describe('native element-wise kernels on wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const isa of loadNativeConv('auto').available) {
    for (const draw of ['plain', 'special', 'ties'] as const) {
      for (const shape of SHAPES) {
        test(`${isa}: ReLU, MaxPool, their gradients, bias Add and Sum equal the kernels they replace bit for bit: ${shape} (${draw})`, () => {
          const ours = kernelsOn(loadNativeConv(isa).conv!);
          const theirs = kernelsOn(null);
          const size = tf.util.sizeFromShape(shape);
          const c = shape[3]!;
          const x = tf.tensor(values(size, 1, draw), shape);
          const pooled = tf.tensor(values(tf.util.sizeFromShape([shape[0]!, Math.floor(shape[1]! / 2), Math.floor(shape[2]! / 2), c]), 2, draw), [shape[0]!, Math.floor(shape[1]! / 2), Math.floor(shape[2]! / 2), c]);
          const dy = tf.tensor(values(size, 3, draw), shape);
          const bias = tf.tensor1d(values(c, 4, draw));
          assertSameBits(call(ours.Relu, { x }), call(theirs.Relu, { x }), 'Relu');
          assertSameBits(call(ours.MaxPool, { x }, POOL), call(theirs.MaxPool, { x }, POOL), 'MaxPool');
          assertSameBits(call(ours.ReluGrad, { dy, x }), call(theirs.ReluGrad, { dy, x }), 'ReluGrad');
          const grad = { dy: pooled, input: x, output: pooled };
          assertSameBits(call(ours.MaxPoolGrad, grad, POOL), call(theirs.MaxPoolGrad, grad, POOL), 'MaxPoolGrad');
          assertSameBits(call(ours.Add, { a: x, b: bias }), call(theirs.Add, { a: x, b: bias }), 'Add');
          const sum = { axis: [0, 1, 2], keepDims: false };
          assertSameBits(call(ours.Sum, { x }, sum), call(theirs.Sum, { x }, sum), 'Sum');
          tf.dispose([x, pooled, dy, bias]);
        });
      }
    }

    test(`${isa}: MaxPool and MaxPoolGrad on every arrangement of ±NaN, ±∞, ±0, ±1 in a window`, () => {
      const ours = kernelsOn(loadNativeConv(isa).conv!);
      const theirs = kernelsOn(null);
      const x = everyWindow();
      assertSameBits(call(ours.MaxPool, { x }, POOL), call(theirs.MaxPool, { x }, POOL), 'MaxPool');
      const pooled = tf.tensor(values(tf.util.sizeFromShape([1, 1, x.shape[2]! / 2, 16]), 5, 'plain'), [1, 1, x.shape[2]! / 2, 16]);
      const grad = { dy: pooled, input: x, output: pooled };
      assertSameBits(call(ours.MaxPoolGrad, grad, POOL), call(theirs.MaxPoolGrad, grad, POOL), 'MaxPoolGrad');
      tf.dispose([x, pooled]);
    });

    test(`${isa}: the dense layer's activations and bias; Sum with a short last block, and with fewer rows than a block; flat ReLU tails`, () => {
      const ours = kernelsOn(loadNativeConv(isa).conv!);
      const theirs = kernelsOn(null);
      for (const [shape, seed] of [[[64, 128], 6], [[100, 16], 7], [[5, 3, 32], 8], [[7, 3, 5], 9]] as const) {
        const x = tf.tensor(values(tf.util.sizeFromShape(shape as unknown as number[]), seed, 'special'), shape as unknown as number[]);
        const c = shape[shape.length - 1]!;
        const bias = tf.tensor1d(values(c, seed + 10, 'special'));
        const dy = tf.tensor(values(tf.util.sizeFromShape(shape as unknown as number[]), seed + 20, 'special'), shape as unknown as number[]);
        const axis = shape.slice(0, -1).map((_, i) => i);
        assertSameBits(call(ours.Relu, { x }), call(theirs.Relu, { x }), `Relu ${shape}`);
        assertSameBits(call(ours.ReluGrad, { dy, x }), call(theirs.ReluGrad, { dy, x }), `ReluGrad ${shape}`);
        if (c % 4 === 0) {
          assertSameBits(call(ours.Add, { a: x, b: bias }), call(theirs.Add, { a: x, b: bias }), `Add ${shape}`);
          assertSameBits(call(ours.Sum, { x }, { axis, keepDims: true }), call(theirs.Sum, { x }, { axis, keepDims: true }), `Sum ${shape}`);
        }
        tf.dispose([x, bias, dy]);
      }
    });
  }

  test('the registered kernels use the native library where it loads; other cases go to the stock or wasm kernels', () => {
    const conv = nativeConv() ?? loadNativeConv('auto').conv;
    if (conv === null) return;
    const calls: string[] = [];
    const counting = Object.fromEntries(
      Object.entries(conv).map(([name, value]) => [name, typeof value === 'function' ? (...args: unknown[]) => { calls.push(name); return (value as (...a: unknown[]) => unknown)(...args); } : value]),
    ) as unknown as NativeConv;
    const k = kernelsOn(counting);
    const x = tf.tensor(values(2 * 6 * 6 * 16, 11, 'plain'), [2, 6, 6, 16]);
    const narrow = tf.tensor(values(2 * 6 * 6 * 8, 12, 'plain'), [2, 6, 6, 8]);
    const pooled = tf.tensor(values(2 * 3 * 3 * 8, 13, 'plain'), [2, 3, 3, 8]);
    const bias8 = tf.tensor1d(values(8, 14, 'plain'));
    for (const out of [
      call(k.MaxPool, { x }, { ...POOL, pad: 'same', filterSize: 3 }),
      call(k.MaxPool, { x: narrow }, POOL),
      call(k.MaxPoolGrad, { dy: pooled, input: narrow, output: pooled }, POOL),
      call(k.Add, { a: narrow, b: bias8 }),
      call(k.Sum, { x: narrow }, { axis: [0, 1, 2], keepDims: false }),
      call(k.Sum, { x }, { axis: [3], keepDims: false }),
    ]) tf.engine().makeTensorFromTensorInfo(out).dispose();
    assert.deepEqual(calls, [], 'other windows, 8 channels, other axes: not native');
    // XNNPACK's Arm form of max-pooling differs from its x86 form (which the native routine follows) on NaN and ±0.
    const armHost = maxPoolKernel(stockKernel('MaxPool', 'wasm'), () => counting, false);
    tf.engine().makeTensorFromTensorInfo(call(armHost, { x }, POOL)).dispose();
    assert.deepEqual(calls, [], 'max-pooling on an Arm host: the stock kernel');
    tf.engine().makeTensorFromTensorInfo(call(maxPoolKernel(stockKernel('MaxPool', 'wasm'), () => counting, true), { x }, POOL)).dispose();
    tf.engine().makeTensorFromTensorInfo(call(k.Relu, { x: narrow })).dispose();
    assert.deepEqual(calls, ['maxPool', 'relu']);
    const registered = tf.getKernel('Relu', 'wasm')!.kernelFunc;
    assert.notEqual(registered, stockKernel('Relu', 'wasm'), 'Relu is registered');
    tf.dispose([x, narrow, pooled, bias8]);
  });
});
