import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { stockKernel } from '../../job/backend/kernels.js';
import { conv2DKernel, fusedConv2DKernel } from '../../job/backend/kernels/conv2d-forward.js';
import {
  NATIVE_CONV_ENV,
  NATIVE_CONV_VERSION,
  loadNativeConv,
  nativeConv,
  nativeConvAbsence,
  type NativeConv,
} from '../../job/backend/native-conv.js';
import { initBackend } from '../../job/backend/select.js';
import { mulberry32 } from '../support/fake-dataset.js';
import { bitDifferences, tensorBits } from '../support/float-bits.js';

/** Values in [-1, 1), with every 97th replaced by a special value where `special` is set. */
function values(size: number, seed: number, special: boolean): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = next() * 2 - 1;
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-42, -1e-40, 3e38, -3e38];
  if (special) for (let i = 0; i < size; i += 97) out[i] = specials[(i / 97) % specials.length]!;
  return out;
}

/** `kernel` (the native one, or the stock one where it does not cover the case) and the stock XNNPACK kernel, bit for bit. */
function assertSameAsStock(kernel: tf.KernelFunc, kernelName: string, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap): void {
  const stock = stockKernel(kernelName, 'wasm');
  assert.ok(stock, `${kernelName} has a stock wasm kernel`);
  const run = (f: tf.KernelFunc) => tf.engine().makeTensorFromTensorInfo(f({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo);
  const [ours, theirs] = [run(kernel), run(stock)];
  assert.deepEqual(ours.shape, theirs.shape);
  const [a, b] = [tensorBits(ours), tensorBits(theirs)];
  const { differing, first } = bitDifferences(a, b);
  assert.equal(differing, 0, `${kernelName}: ${differing} of ${a.length} outputs differ, first at ${first}`);
  ours.dispose();
  theirs.dispose();
}

/** The two kernels on one instruction set. */
function kernelsOn(conv: NativeConv) {
  return {
    Conv2D: conv2DKernel(stockKernel('Conv2D', 'wasm'), () => conv),
    FusedConv2D: fusedConv2DKernel(stockKernel('FusedConv2D', 'wasm'), () => conv),
  };
}

const CONV = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 } as const;

// [n, h, w, c, kh, kw, f]: the model's two layers, then odd sizes (pixel and channel remainders).
const SHAPES: number[][] = [
  [8, 28, 28, 1, 5, 5, 16],
  [8, 12, 12, 16, 5, 5, 32],
  [3, 9, 7, 3, 3, 3, 48],
  [2, 5, 5, 16, 5, 5, 16],
  [5, 3, 30, 2, 3, 2, 32],
  [1, 2, 2, 1, 2, 2, 16],
];

describe('native forward convolution on wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  test('loads where it was built (CI builds it), and metrics name the instructions it uses', async () => {
    if (process.env.CI === 'true' && process.env[NATIVE_CONV_ENV] !== 'off') {
      // Loaded, though `auto` may leave it unused (on a CPU without AVX2, or off x86).
      assert.notEqual(loadNativeConv('auto').available.length, 0, `CI builds the native convolution: ${nativeConvAbsence()}`);
    }
    const selected = await initBackend('wasm');
    assert.equal(selected.versions[NATIVE_CONV_VERSION], nativeConv()?.isa ?? null);
    if (nativeConv() === null) assert.notEqual(nativeConvAbsence(), '');
  });

  // Every form this CPU can run (AVX-512 here; the EPYC's AVX2; the SSE2 baseline), not only the widest.
  const available = loadNativeConv('auto').available;
  test('every instruction set this CPU has is tested (none where it is not built), the one in use among them', () => {
    const notBuilt = available.length === 0;
    assert.equal(notBuilt, /not built/.test(loadNativeConv('auto').reason), loadNativeConv('auto').reason);
    const inUse = nativeConv();
    if (inUse !== null) assert.ok(available.includes(inUse.isa), `${inUse.isa} in use, ${available.join(', ')} tested`);
  });
  for (const isa of available) {
    for (const special of [false, true]) {
      for (const [n, h, w, c, kh, kw, f] of SHAPES) {
        const label = `${[n, h, w, c].join('×')} * ${[kh, kw, c, f].join('×')}${special ? ', with NaN, ±∞, ±0, subnormals' : ''}`;
        test(`${isa}: Conv2D and FusedConv2D (none, bias, bias + ReLU) equal XNNPACK's bit for bit: ${label}`, () => {
          const kernels = kernelsOn(loadNativeConv(isa).conv!);
          const x = tf.tensor4d(values(n! * h! * w! * c!, 1, special), [n!, h!, w!, c!]);
          const filter = tf.tensor4d(values(kh! * kw! * c! * f!, 2, false), [kh!, kw!, c!, f!]);
          const bias = tf.tensor1d(values(f!, 3, special));
          assertSameAsStock(kernels.Conv2D, 'Conv2D', { x, filter }, CONV);
          assertSameAsStock(kernels.FusedConv2D, 'FusedConv2D', { x, filter, bias }, { ...CONV, activation: 'linear' });
          assertSameAsStock(kernels.FusedConv2D, 'FusedConv2D', { x, filter, bias }, { ...CONV, activation: 'relu' });
          assertSameAsStock(kernels.FusedConv2D, 'FusedConv2D', { x, filter }, { ...CONV, activation: 'relu' });
          tf.dispose([x, filter, bias]);
        });
      }
    }
  }

  test('the registered kernels are the native ones where it loads', () => {
    const x = tf.tensor4d(values(2 * 6 * 6 * 16, 9, false), [2, 6, 6, 16]);
    const filter = tf.tensor4d(values(3 * 3 * 16 * 16, 10, false), [3, 3, 16, 16]);
    assertSameAsStock(tf.getKernel('Conv2D', 'wasm')!.kernelFunc, 'Conv2D', { x, filter }, CONV);
    assert.equal(tf.getKernel('Conv2D', 'wasm')!.kernelFunc === stockKernel('Conv2D', 'wasm'), false);
    tf.dispose([x, filter]);
  });

  test('cases it does not cover go to the stock kernel: padding, strides, 1×1 filters, 8 channels out, ELU', () => {
    const conv = nativeConv() ?? loadNativeConv('auto').conv;
    if (conv === null) return; // nothing native to route around (CI always has it: the first test)
    let calls = 0;
    const counting: NativeConv = { ...conv, conv2d: (...args) => { calls++; conv.conv2d(...args); } };
    const kernels = kernelsOn(counting);
    const x = tf.tensor4d(values(2 * 9 * 9 * 4, 4, true), [2, 9, 9, 4]);
    const filter = tf.tensor4d(values(3 * 3 * 4 * 16, 5, false), [3, 3, 4, 16]);
    assertSameAsStock(kernels.Conv2D, 'Conv2D', { x, filter }, { ...CONV, pad: 'same' });
    assertSameAsStock(kernels.Conv2D, 'Conv2D', { x, filter }, { ...CONV, strides: 2 });
    const pointwise = tf.tensor4d(values(4 * 16, 6, false), [1, 1, 4, 16]);
    assertSameAsStock(kernels.Conv2D, 'Conv2D', { x, filter: pointwise }, CONV);
    const narrow = tf.tensor4d(values(3 * 3 * 4 * 8, 7, false), [3, 3, 4, 8]);
    assertSameAsStock(kernels.FusedConv2D, 'FusedConv2D', { x, filter: narrow }, { ...CONV, activation: 'relu' });
    const bias = tf.tensor1d(values(16, 8, false));
    assertSameAsStock(kernels.FusedConv2D, 'FusedConv2D', { x, filter, bias }, { ...CONV, activation: 'elu' });
    assert.equal(calls, 0);
    assertSameAsStock(kernels.Conv2D, 'Conv2D', { x, filter }, CONV);
    assert.equal(calls, 1, 'the covered case does call it');
    tf.dispose([x, filter, pointwise, narrow, bias]);
  });
});

describe(`${NATIVE_CONV_ENV}`, () => {
  const probe = (value: string) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e',
        "import { nativeConv, nativeConvAbsence } from './job/backend/native-conv.ts'; try { console.log(JSON.stringify({ isa: nativeConv()?.isa ?? null, why: nativeConvAbsence() })); } catch (e) { console.log(JSON.stringify({ error: e.name + ': ' + e.message })); }"],
      { env: { ...process.env, [NATIVE_CONV_ENV]: value }, encoding: 'utf8' },
    );

  test('off turns it off and says so; a bad value is a usage error naming the variable and the choices', () => {
    assert.deepEqual(JSON.parse(probe('off').stdout), { isa: null, why: `${NATIVE_CONV_ENV}=off` });
    const bad = JSON.parse(probe('fast').stdout) as { error: string };
    assert.equal(bad.error, `UsageError: ${NATIVE_CONV_ENV} must be one of auto, on, off, baseline, avx2, avx512f, got 'fast'`);
  });

  test('on and auto load the widest form (auto: AVX2 or wider); an instruction set picks one', () => {
    const available = loadNativeConv('auto').available;
    const widest = available[available.length - 1] ?? null;
    assert.equal(JSON.parse(probe('auto').stdout).isa, widest === 'baseline' ? null : widest);
    if (widest === null) {
      assert.match(JSON.parse(probe('on').stdout).error, /^UsageError: MIXUP_NATIVE_CONV=on but the native convolution does not load \(/);
      return;
    }
    assert.equal(JSON.parse(probe('on').stdout).isa, widest);
    assert.equal(JSON.parse(probe('baseline').stdout).isa, 'baseline');
    if (!available.includes('avx512f')) {
      assert.equal(
        JSON.parse(probe('avx512f').stdout).error,
        `UsageError: ${NATIVE_CONV_ENV}=avx512f: this CPU runs the native convolution on ${available.join(', ')} only`,
      );
    }
  });
});
