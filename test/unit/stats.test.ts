import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  confidenceInterval,
  logGamma,
  mean,
  pairedDifferences,
  regularizedBeta,
  sampleSd,
  tCdf,
  tQuantile,
} from '../../job/stats.js';

function close(actual: number | null, expected: number, tolerance: number, what = 'value'): void {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

describe('stats', () => {
  test('mean and sample sd of fixed values', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    close(sampleSd([1, 2, 3, 4]), Math.sqrt(5 / 3), 1e-15, 'sd');
    close(sampleSd([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7), 1e-15, 'sd');
  });

  test('sd and interval are null for one value', () => {
    assert.equal(sampleSd([0.87]), null);
    const interval = confidenceInterval([0.87]);
    assert.deepEqual(interval, { n: 1, mean: 0.87, sd: null, halfWidth: null, low: null, high: null });
  });

  test('mean of nothing is refused', () => {
    assert.throws(() => mean([]), /mean of no values/);
  });

  test('t quantiles match the published two-sided 95 % table', () => {
    const table: Array<[number, number]> = [
      [1, 12.7062047364], [2, 4.30265272975], [3, 3.18244630528], [4, 2.7764451052],
      [5, 2.57058183564], [9, 2.26215716280], [10, 2.22813885196], [30, 2.04227245630], [120, 1.97993040505],
    ];
    for (const [df, expected] of table) close(tQuantile(0.975, df), expected, 1e-8, `t(0.975, ${df})`);
  });

  test('t quantiles approach the normal quantile and are symmetric', () => {
    close(tQuantile(0.975, 1e7), 1.959963985, 1e-6, 't(0.975, 1e7)');
    close(tQuantile(0.025, 4), -2.7764451052, 1e-8, 't(0.025, 4)');
    assert.equal(tQuantile(0.5, 3), 0);
    close(tQuantile(0.995, 2), 9.92484320092, 1e-7, 't(0.995, 2)');
  });

  test('t cdf of df 1 is the Cauchy cdf', () => {
    for (const t of [-3, -0.5, 0, 0.7, 12.7062047364]) {
      close(tCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `tCdf(${t}, 1)`);
    }
  });

  test('regularized beta and log gamma on known values', () => {
    close(regularizedBeta(0.5, 2, 2), 0.5, 1e-14, 'I(0.5; 2, 2)');
    close(regularizedBeta(0.3, 1, 1), 0.3, 1e-14, 'I(0.3; 1, 1)');
    close(regularizedBeta(0.2, 2, 3), 1 - (0.8 ** 4 + 4 * 0.2 * 0.8 ** 3), 1e-14, 'I(0.2; 2, 3)');
    close(logGamma(5), Math.log(24), 1e-13, 'lnΓ(5)');
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13, 'lnΓ(0.5)');
  });

  test('95 % interval of three fixed accuracies', () => {
    // mean 0.87, sd 0.01, half-width = 4.302652729749464 × 0.01 / √3
    const interval = confidenceInterval([0.86, 0.87, 0.88]);
    assert.equal(interval.n, 3);
    close(interval.mean, 0.87, 1e-15, 'mean');
    close(interval.sd, 0.01, 1e-15, 'sd');
    close(interval.halfWidth, (4.302652729749464 * 0.01) / Math.sqrt(3), 1e-12, 'half-width');
    close(interval.low, 0.87 - 0.024841377, 1e-9, 'low');
    close(interval.high, 0.87 + 0.024841377, 1e-9, 'high');
  });

  test('the level changes the interval', () => {
    const values = [1, 2, 3, 4, 5];
    const ninety = confidenceInterval(values, 0.9);
    close(ninety.halfWidth, (2.13184678632 * Math.sqrt(2.5)) / Math.sqrt(5), 1e-9, '90 % half-width');
  });

  test('paired differences subtract element by element', () => {
    const mixup = [0.8604, 0.8756, 0.8685];
    const baseline = [0.8721, 0.8791, 0.8728];
    const diffs = pairedDifferences(mixup, baseline);
    diffs.forEach((d, i) => close(d, [-0.0117, -0.0035, -0.0043][i]!, 1e-12, `diff ${i}`));
    const interval = confidenceInterval(diffs);
    close(interval.mean, -0.0065, 1e-12, 'mean difference');
    assert.ok(interval.high! < 0.01 && interval.low! < interval.mean);
  });

  test('paired differences refuse unequal lengths', () => {
    assert.throws(() => pairedDifferences([1, 2], [1]), /equal lengths; got 2 and 1/);
  });
});

describe('closed forms and edges (df 1 and 2 have exact formulas)', () => {
  const cdf1 = (t: number) => 0.5 + Math.atan(t) / Math.PI;
  const cdf2 = (t: number) => 0.5 + t / (2 * Math.sqrt(2 + t * t));
  const close = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

  test('tCdf for 1 and 2 degrees of freedom, both tails', () => {
    for (const t of [-30, -3, -0.5, 0, 0.7, 4, 50]) {
      close(tCdf(t, 1), cdf1(t), `tCdf(${t}, 1)`);
      close(tCdf(t, 2), cdf2(t), `tCdf(${t}, 2)`);
    }
    assert.equal(tCdf(Number.POSITIVE_INFINITY, 3), 1);
    assert.equal(tCdf(Number.NEGATIVE_INFINITY, 3), 0);
  });

  test('tQuantile for 1 and 2 degrees of freedom, both tails', () => {
    for (const p of [0.01, 0.2, 0.5, 0.8, 0.975, 0.999]) {
      close(tQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), `tQuantile(${p}, 1)`);
      close(tQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), `tQuantile(${p}, 2)`);
    }
  });

  test('a probability outside (0, 1) or degrees of freedom ≤ 0 are refused', () => {
    for (const p of [0, 1, -0.1, 1.5, Number.NaN]) assert.throws(() => tQuantile(p, 3), /a quantile needs 0 < p < 1/);
    for (const df of [0, -1, Number.NaN]) {
      assert.throws(() => tQuantile(0.9, df), /degrees of freedom = .*must be > 0/);
      assert.throws(() => tCdf(1, df), /degrees of freedom = .*must be > 0/);
    }
  });

  test('the regularized incomplete beta against its binomial sum, on both sides of the mean', () => {
    // I_x(2, 3) = P(Binomial(4, x) ≥ 2)
    const exact = (x: number) => 6 * x ** 2 * (1 - x) ** 2 + 4 * x ** 3 * (1 - x) + x ** 4;
    for (const x of [0.05, 0.3, 0.5, 0.8, 0.99]) close(regularizedBeta(x, 2, 3), exact(x), `I_${x}(2, 3)`);
    assert.equal(regularizedBeta(-0.5, 2, 3), 0);
    assert.equal(regularizedBeta(1.5, 2, 3), 1);
  });

  test('ln Γ below 1/2 (the reflection formula)', () => {
    close(logGamma(0.25), Math.log(3.625609908221908), 'ln Γ(1/4)');
    close(logGamma(0.1), Math.log(9.513507698668732), 'ln Γ(1/10)');
  });

  test('two values have a standard deviation; one has none and no interval', () => {
    assert.equal(sampleSd([1, 3]), Math.SQRT2);
    assert.deepEqual(confidenceInterval([4]), { n: 1, mean: 4, sd: null, halfWidth: null, low: null, high: null });
  });
});
