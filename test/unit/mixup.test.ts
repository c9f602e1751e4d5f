import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { mixBatch, sampleLambda } from '../../job/mixup.js';
import { deriveSeed, Rng, rngFor } from '../../job/random.js';

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

  test('batches of different shapes are refused', () => {
    assert.throws(
      () => mixBatch(new Float32Array(4), new Float32Array(2), new Float32Array(6), new Float32Array(2), new Float32Array(2)),
      /same shape/,
    );
  });
});

describe('deriveSeed', () => {
  test('different purposes and steps give different seeds', () => {
    const seeds = new Set([deriveSeed(42, 'a'), deriveSeed(42, 'b'), deriveSeed(43, 'a'), deriveSeed(42, 'a', 1), deriveSeed(42, 'a', 2)]);
    assert.equal(seeds.size, 5);
  });
});
