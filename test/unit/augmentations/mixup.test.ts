import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { mixBatch, sampleLambda } from '../../../job/augmentations/mixup.js';
import { deriveSeed, Rng, rngFor } from '../../../job/random.js';

function moments(values: Float32Array): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

describe('sampleLambda', () => {
  for (const alpha of [0.05, 0.2, 0.4, 1, 2, 5]) {
    test(`λ ~ Beta(${alpha}, ${alpha}) has mean 1/2 and variance 1/(4(2α+1))`, () => {
      const lam = sampleLambda(alpha, 40_000, new Rng(7));
      const { mean, variance } = moments(lam);
      const expected = 1 / (4 * (2 * alpha + 1));
      assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
      assert.ok(Math.abs(variance - expected) / expected < 0.04, `variance ${variance} vs ${expected}`);
      assert.ok(lam.every((l) => l >= 0 && l <= 1 && Number.isFinite(l)));
    });
  }

  test('α is the Gamma shape, not its rate: small α piles λ near 0 and 1', () => {
    const lam = sampleLambda(0.2, 20_000, new Rng(3));
    const extreme = lam.filter((l) => l < 0.1 || l > 0.9).length / lam.length;
    // Beta(0.2, 0.2) puts ~63 % of its mass outside [0.1, 0.9]; a uniform λ would put 20 %.
    assert.ok(extreme > 0.55, `share outside [0.1, 0.9]: ${extreme}`);
  });

  test('a tiny α never yields NaN even where both Gamma draws underflow', () => {
    const lam = sampleLambda(0.001, 10_000, new Rng(11));
    assert.ok(lam.every((l) => Number.isFinite(l) && l >= 0 && l <= 1));
  });

  test('α = 0 means no mixing: every λ is 1', () => {
    assert.deepEqual([...sampleLambda(0, 5, new Rng(1))], [1, 1, 1, 1, 1]);
  });

  test('the same seed gives the same λ; another seed does not', () => {
    assert.deepEqual(sampleLambda(0.2, 64, rngFor(42, 'lambda', 1, 0)), sampleLambda(0.2, 64, rngFor(42, 'lambda', 1, 0)));
    assert.notDeepEqual(sampleLambda(0.2, 64, rngFor(42, 'lambda', 1, 0)), sampleLambda(0.2, 64, rngFor(42, 'lambda', 1, 1)));
  });
});

describe('mixBatch', () => {
  test('x = λ·x1 + (1 − λ)·x2 and y = λ·y1 + (1 − λ)·y2, row by row', () => {
    const x1 = Float32Array.from([1, 2, 3, 4]);
    const x2 = Float32Array.from([5, 6, 7, 8]);
    const y1 = Float32Array.from([1, 0, 0, 1]);
    const y2 = Float32Array.from([0, 1, 1, 0]);
    const lam = Float32Array.from([0.25, 1]);
    const { x, y } = mixBatch(x1, y1, x2, y2, lam);
    assert.deepEqual([...x], [0.25 * 1 + 0.75 * 5, 0.25 * 2 + 0.75 * 6, 3, 4]);
    assert.deepEqual([...y], [0.25, 0.75, 0, 1]);
  });

  test('mixed labels stay probability vectors', () => {
    const rng = new Rng(5);
    const rows = 32;
    const onehot = () => {
      const y = new Float32Array(rows * 10);
      for (let r = 0; r < rows; r++) y[r * 10 + rng.int(10)] = 1;
      return y;
    };
    const { y } = mixBatch(new Float32Array(rows), onehot(), new Float32Array(rows), onehot(), sampleLambda(0.2, rows, rng));
    for (let r = 0; r < rows; r++) {
      const sum = y.subarray(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6);
    }
  });

  test('rows wider than four (the unrolled loop) and their remainder', () => {
    const width = 7;
    const x1 = Float32Array.from({ length: 2 * width }, (_, i) => i);
    const x2 = Float32Array.from({ length: 2 * width }, (_, i) => 100 + 2 * i);
    const lam = Float32Array.from([0.5, 0.25]);
    const { x } = mixBatch(x1, new Float32Array(2), x2, new Float32Array(2), lam);
    const expected = Array.from(x1, (v, i) => Math.fround(lam[Math.floor(i / width)]! * v + (1 - lam[Math.floor(i / width)]!) * x2[i]!));
    assert.deepEqual([...x], expected);
  });

  test('writes into the buffers it is given', () => {
    const out = { x: new Float32Array(2), y: new Float32Array(2) };
    const result = mixBatch(Float32Array.from([1, 2]), Float32Array.from([1, 0]), Float32Array.from([3, 4]), Float32Array.from([0, 1]), Float32Array.from([0.5, 0.5]), out);
    assert.equal(result, out);
    assert.deepEqual([...out.x], [2, 3]);
  });

  test('each shape mismatch is refused on its own', () => {
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => mixBatch(f(4), f(2), f(4), f(4), f(2)), /same shape/, 'labels of different lengths');
    assert.throws(() => mixBatch(f(5), f(2), f(5), f(2), f(2)), /one λ per row/, 'images not a whole number of rows');
    assert.throws(() => mixBatch(f(4), f(3), f(4), f(3), f(2)), /one λ per row/, 'labels not a whole number of rows');
  });

  test('batches of different shapes are refused', () => {
    assert.throws(
      () => mixBatch(new Float32Array(4), new Float32Array(2), new Float32Array(6), new Float32Array(2), new Float32Array(2)),
      /same shape/,
    );
  });
});

describe('pinned draws (every stream a run uses, so resumes and later versions draw the same)', () => {
  test('seeds derived from (seed, purpose, …)', () => {
    assert.deepEqual(
      [deriveSeed(42), deriveSeed(42, 'shuffle', 'one', 1), deriveSeed(0, 'lambda', 3, 17), deriveSeed(7, 'init')],
      [686566589, 1387656222, 167763137, -1492520554],
    );
  });

  test('uniform floats, integers, normals and log-Gamma draws', () => {
    let r = new Rng(7);
    assert.deepEqual([r.float(), r.float(), r.float()], [0.9999998825951237, 0.18764029608155652, 0.8865066664655892]);
    r = new Rng(7);
    assert.deepEqual(Array.from({ length: 8 }, () => r.int(10)), [0, 0, 5, 9, 3, 6, 0, 1]);
    r = new Rng(7);
    assert.deepEqual([r.normal(), r.normal(), r.normal()], [-1.0158905367208295, -1.2165990683326096, 0.5067012702302127]);
    r = new Rng(7);
    assert.deepEqual([r.logGamma(0.2), r.logGamma(1), r.logGamma(5)], [-80.03887997640973, -2.012539683655986, 1.613366458212211]);
  });

  test('2,000 log-Gamma draws, rejections included (the acceptance test decides which draws are kept)', () => {
    const r = new Rng(11);
    let sum = 0;
    for (let i = 0; i < 2000; i++) sum += r.logGamma(1.5);
    assert.equal(sum, 22.470155705051045);
  });

  test('λ for α = 0.2 and α = 2', () => {
    assert.deepEqual(Array.from(sampleLambda(0.2, 4, rngFor(42, 'lambda', 1, 0))), [0.008548597805202007, 0.17712458968162537, 0.9576976895332336, 0.2893071174621582]);
    assert.deepEqual(Array.from(sampleLambda(2, 4, rngFor(42, 'lambda', 1, 0))), [0.7013674974441528, 0.17315511405467987, 0.40920934081077576, 0.6347057223320007]);
  });

  test('a Gamma shape that is not > 0 is refused', () => {
    for (const shape of [0, -1, Number.NaN]) assert.throws(() => new Rng(1).logGamma(shape), /gamma shape must be > 0/);
  });
});

describe('deriveSeed', () => {
  test('different purposes and steps give different seeds', () => {
    const seeds = new Set([deriveSeed(42, 'a'), deriveSeed(42, 'b'), deriveSeed(43, 'a'), deriveSeed(42, 'a', 1), deriveSeed(42, 'a', 2)]);
    assert.equal(seeds.size, 5);
  });
});
