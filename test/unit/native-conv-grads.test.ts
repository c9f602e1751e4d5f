import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterKernel, filterGradByPixels } from '../../job/backend/kernels/conv2d-grads.js';
import { conv2DBackpropInputKernel } from '../../job/backend/kernels/conv2d-input-grad.js';
import { filterGradBySparseRuns, inputGradBySparseRuns } from '../../job/backend/kernels/sparse-conv-grads.js';
import { TensorAccess } from '../../job/backend/kernels/tensor-access.js';
import { stockKernel } from '../../job/backend/kernels.js';
import { loadNativeConv, nativeConv, type NativeConv } from '../../job/backend/native-conv.js';
import { initBackend } from '../../job/backend/select.js';
import { mulberry32 } from '../support/fake-dataset.js';
import { bitDifferences, tensorInfoBits } from '../support/float-bits.js';

/**
 * The native conv gradients (native/conv-grads.c) against the wasm SIMD routines they replace, bit
 * for bit, on every instruction set this CPU has: the model's shapes and odd ones, with NaN, ±∞, ±0,
 * subnormals and ±3·10³⁸ in every operand, and dy as sparse as a max-pool gradient leaves it (the
 * sparse forms run only there) or dense (the one-channel filter gradient sums every term).
 */

/**
 * Bit patterns: NaN (JavaScript's), a negative NaN (what x86 makes of ∞ − ∞) and one with a payload,
 * so that a term's NaN and a sum's NaN differ and which of two NaNs comes out shows; ±∞, ±0,
 * subnormals, and values whose products overflow.
 */
const SPECIALS = [0x7fc00000, 0xffc00000, 0x7fc01234, 0x7f800000, 0xff800000, 0x80000000, 0, 0x000003e8, 0x80011170, 0x7f61b1e6, 0xff61b1e6];

/** Values in [-1, 1); a share `zeros` of them 0 (either sign); with `special`, every 97th a special value. */
function values(size: number, seed: number, options: { zeros?: number; special?: boolean } = {}): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = next();
    out[i] = u < (options.zeros ?? 0) ? (next() < 0.5 ? 0 : -0) : next() * 2 - 1;
  }
  // Written as bits: storing a NaN through a Float32Array need not keep its sign or payload.
  const words = new Uint32Array(out.buffer);
  if (options.special) for (let i = (seed * 13) % 97; i < size; i += 97) words[i] = SPECIALS[Math.floor(i / 97) % SPECIALS.length]!;
  return out;
}

/** The two outputs, bit for bit; the first difference in the message. */
function assertSameBits(ours: tf.TensorInfo, theirs: tf.TensorInfo, what: string): void {
  assert.deepEqual(ours.shape, theirs.shape, what);
  const [a, b] = [tensorInfoBits(ours), tensorInfoBits(theirs)];
  const { differing, first } = bitDifferences(a, b);
  const show = (u: number | undefined) => `0x${(u ?? 0).toString(16)} (${new Float32Array(new Uint32Array([u ?? 0]).buffer)[0]})`;
  assert.equal(differing, 0, `${what}: ${differing} of ${a.length} outputs differ, first at ${first}: ${show(a[first])} against ${show(b[first])}`);
}

function infoOf(x: number[], filter: number[]): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(x as [number, number, number, number], filter as [number, number, number, number], 1, 1, 'valid');
}

// [n, h, w, ci, kh, kw, co]. One channel in (the dense filter gradient): the model's first layer, then
// odd sizes: other filters, 32 and 48 channels out, pixel counts that are no multiple of anything.
const ONE_CHANNEL: number[][] = [
  [8, 28, 28, 1, 5, 5, 16],
  [3, 9, 7, 1, 3, 3, 32],
  [2, 7, 30, 1, 7, 2, 16],
  [1, 4, 4, 1, 1, 4, 48],
  [2, 13, 11, 1, 6, 6, 16],
];
// The sparse forms: the model's second layer, then runs (kw · ci) of 16, 48 and 160 floats.
const SPARSE: number[][] = [
  [8, 12, 12, 16, 5, 5, 32],
  [3, 9, 7, 8, 3, 2, 16],
  [2, 6, 6, 16, 3, 3, 8],
  [1, 9, 5, 16, 6, 1, 48],
  [2, 8, 14, 32, 2, 5, 3],
  [4, 6, 7, 4, 2, 4, 17],
  [2, 7, 7, 4, 3, 3, 16], // runs of 12: not covered, the wasm routine runs
];

describe('native conv gradients on wasm', () => {
  let t: TensorAccess;
  before(async () => {
    await initBackend('wasm');
    t = new TensorAccess('wasm', tf.backend());
  });

  const available = loadNativeConv('auto').available;
  for (const isa of available) {
    for (const special of [false, true]) {
      const label = special ? ', with NaN, ±∞, ±0, subnormals' : '';
      for (const [n, h, w, ci, kh, kw, co] of ONE_CHANNEL) {
        test(`${isa}: the one-channel filter gradient equals the wasm routine's bit for bit: ${[n, h, w, ci]} → ${[kh, kw, ci, co]}${label}`, () => {
          const native = loadNativeConv(isa).conv!;
          const info = infoOf([n!, h!, w!, ci!], [kh!, kw!, ci!, co!]);
          const x = tf.tensor4d(values(n! * h! * w!, 1, { special }), [n!, h!, w!, 1]);
          const dy = tf.tensor(values(tf.util.sizeFromShape(info.outShape), 2, { zeros: 0.75, special }), info.outShape);
          const ours = filterGradByPixels(t, x, dy, info, native);
          const theirs = filterGradByPixels(t, x, dy, info, null);
          assert.ok(ours !== null && theirs !== null, 'the pixels form applies');
          assertSameBits(ours, theirs, 'Conv2DBackpropFilter');
          tf.dispose([x, dy]);
        });
      }
      for (const [n, h, w, ci, kh, kw, co] of SPARSE) {
        test(`${isa}: the sparse filter and input gradients equal the wasm routine's bit for bit: ${[n, h, w, ci]} → ${[kh, kw, ci, co]}${label}`, () => {
          const native = loadNativeConv(isa).conv!;
          const info = infoOf([n!, h!, w!, ci!], [kh!, kw!, ci!, co!]);
          const x = tf.tensor4d(values(n! * h! * w! * ci!, 3, { special }), [n!, h!, w!, ci!]);
          const filter = tf.tensor4d(values(kh! * kw! * ci! * co!, 4, { special }), [kh!, kw!, ci!, co!]);
          const dy = tf.tensor(values(tf.util.sizeFromShape(info.outShape), 5, { zeros: 0.8, special }), info.outShape);
          const covered = (kw! * ci!) % 16 === 0;
          let calls = 0;
          const counting: NativeConv = {
            ...native,
            sparseFilterGrad: (...args) => { calls++; native.sparseFilterGrad(...args); },
            sparseInputGrad: (...args) => { calls++; native.sparseInputGrad(...args); },
          };
          assertSameBits(filterGradBySparseRuns(t, x, dy, info, counting)!, filterGradBySparseRuns(t, x, dy, info, null)!, 'Conv2DBackpropFilter');
          assertSameBits(inputGradBySparseRuns(t, filter, dy, info, counting)!, inputGradBySparseRuns(t, filter, dy, info, null)!, 'Conv2DBackpropInput');
          assert.equal(calls, covered ? 2 : 0, covered ? 'runs in 16s: native' : 'runs not in 16s: the wasm routine');
          tf.dispose([x, filter, dy]);
        });
      }
    }
  }

  test('the registered kernels use the native routines where they load, and give the wasm routines\' floats', () => {
    const conv = nativeConv();
    if (conv === null) return; // nothing native in use: the registered kernels are the wasm forms themselves
    const run = (kernel: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) =>
      kernel({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC' };
    for (const [n, h, w, ci, kh, kw, co] of [ONE_CHANNEL[0]!, SPARSE[0]!]) {
      const info = infoOf([n!, h!, w!, ci!], [kh!, kw!, ci!, co!]);
      const x = tf.tensor4d(values(n! * h! * w! * ci!, 6), [n!, h!, w!, ci!]);
      const filter = tf.tensor4d(values(kh! * kw! * ci! * co!, 7), [kh!, kw!, ci!, co!]);
      const dy = tf.tensor(values(tf.util.sizeFromShape(info.outShape), 8, { zeros: 0.8 }), info.outShape);
      const registered = tf.getKernel('Conv2DBackpropFilter', 'wasm')!.kernelFunc;
      const wasmOnly = conv2DBackpropFilterKernel('wasm', undefined, () => null);
      assertSameBits(run(registered, { x, dy }, { ...attrs, filterShape: [kh!, kw!, ci!, co!] }), run(wasmOnly, { x, dy }, { ...attrs, filterShape: [kh!, kw!, ci!, co!] }), 'Conv2DBackpropFilter');
      const input = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
      const inputWasm = conv2DBackpropInputKernel('wasm', stockKernel('Conv2DBackpropInput', 'wasm'), () => null);
      assertSameBits(run(input, { dy, filter }, { ...attrs, inputShape: [n!, h!, w!, ci!] }), run(inputWasm, { dy, filter }, { ...attrs, inputShape: [n!, h!, w!, ci!] }), 'Conv2DBackpropInput');
      tf.dispose([x, filter, dy]);
    }
  });

  test('the kernels call the native routines only where the wasm routines would run: sparse dy or one channel in, unpadded', () => {
    const conv = nativeConv() ?? loadNativeConv('auto').conv;
    if (conv === null) return;
    const calls: string[] = [];
    const counting: NativeConv = {
      ...conv,
      filterGrad1ch: (...args) => { calls.push('filterGrad1ch'); conv.filterGrad1ch(...args); },
      sparseFilterGrad: (...args) => { calls.push('sparseFilterGrad'); conv.sparseFilterGrad(...args); },
      sparseInputGrad: (...args) => { calls.push('sparseInputGrad'); conv.sparseInputGrad(...args); },
    };
    const filterKernel = conv2DBackpropFilterKernel('wasm', undefined, () => counting);
    const inputKernel = conv2DBackpropInputKernel('wasm', stockKernel('Conv2DBackpropInput', 'wasm'), () => counting);
    const call = (pad: 'valid' | 'same', [n, h, w, ci, kh, kw, co]: number[], zeros: number) => {
      calls.length = 0;
      const info = tf.backend_util.computeConv2DInfo([n!, h!, w!, ci!], [kh!, kw!, ci!, co!], 1, 1, pad);
      const x = tf.tensor4d(values(n! * h! * w! * ci!, 9), [n!, h!, w!, ci!]);
      const filter = tf.tensor4d(values(kh! * kw! * ci! * co!, 10), [kh!, kw!, ci!, co!]);
      const dy = tf.tensor(values(tf.util.sizeFromShape(info.outShape), 11, { zeros }), info.outShape);
      const attrs = { strides: 1, pad, dataFormat: 'NHWC' };
      const outs = [
        filterKernel({ inputs: { x, dy }, backend: tf.backend(), attrs: { ...attrs, filterShape: [kh!, kw!, ci!, co!] } }) as tf.TensorInfo,
        inputKernel({ inputs: { dy, filter }, backend: tf.backend(), attrs: { ...attrs, inputShape: [n!, h!, w!, ci!] } }) as tf.TensorInfo,
      ];
      for (const out of outs) t.dispose(out);
      tf.dispose([x, filter, dy]);
      return [...calls];
    };
    assert.deepEqual(call('valid', SPARSE[0]!, 0.8), ['sparseFilterGrad', 'sparseInputGrad']);
    assert.deepEqual(call('valid', SPARSE[0]!, 0.2), [], 'dense dy: the dense forms (XNNPACK), not native');
    assert.deepEqual(call('same', SPARSE[0]!, 0.8), [], 'padding: the listed runs, not native');
    assert.deepEqual(call('valid', ONE_CHANNEL[0]!, 0.8), ['filterGrad1ch'], 'one channel in: no input gradient is sparse (runs of 5)');
    assert.deepEqual(call('valid', [2, 9, 9, 1, 3, 3, 8], 0.8), [], '8 channels out: the wasm routine');
  });
});
