import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EpochBatches } from '../../job/batches.js';
import { batchCount, batchSlice, bufferedShuffle, epochOrder } from '../../job/pairs.js';
import { Rng } from '../../job/random.js';

const isPermutation = (order: Int32Array) => [...order].sort((a, b) => a - b).every((v, i) => v === i);

describe('bufferedShuffle', () => {
  test('emits every element exactly once', () => {
    const rng = new Rng(1);
    assert.ok(isPermutation(bufferedShuffle(1000, 64, (k) => rng.int(k))));
  });

  test('behaves like tf.data shuffle: the k-th output comes from the first bufferSize + k elements', () => {
    const rng = new Rng(2);
    const order = bufferedShuffle(5000, 100, (k) => rng.int(k));
    order.forEach((value, k) => assert.ok(value < 100 + k, `output ${k} = ${value}`));
  });

  test('a buffer as large as the data is a full shuffle', () => {
    const rng = new Rng(3);
    const order = bufferedShuffle(100, 1000, (k) => rng.int(k));
    assert.ok(isPermutation(order));
    assert.ok(order.some((v, i) => v !== i));
  });
});

describe('epochOrder', () => {
  test('the two mixup streams are independent shuffles of the same data', () => {
    const one = epochOrder(2000, 64, 42, 'one', 1);
    const two = epochOrder(2000, 64, 42, 'two', 1);
    assert.ok(isPermutation(one) && isPermutation(two));
    const same = one.filter((v, i) => v === two[i]).length;
    assert.ok(same < 20, `${same} positions agree`);
  });

  test('each epoch reshuffles, and the same (seed, stream, epoch) repeats exactly', () => {
    assert.notDeepEqual(epochOrder(500, 8, 42, 'one', 1), epochOrder(500, 8, 42, 'one', 2));
    assert.deepEqual(epochOrder(500, 8, 42, 'one', 3), epochOrder(500, 8, 42, 'one', 3));
  });

  test('the last batch keeps the remainder', () => {
    const order = epochOrder(130, 64, 1, 'one', 1);
    assert.equal(batchCount(130, 64), 3);
    assert.equal(batchSlice(order, 64, 2).length, 2);
  });
});

describe('EpochBatches', () => {
  test('training bytes become pixels / 255 and one-hot labels as they are gathered', () => {
    const pixels = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256);
    const batch = new EpochBatches({ pixels, labels: Uint8Array.from([3, 1, 4]), count: 3 }, 'baseline', 0, 8, 1, 1).batch(0);
    for (let i = 0; i < batch.size; i++) {
      const label = batch.y.subarray(i * 10, i * 10 + 10).indexOf(1);
      const row = [3, 1, 4].indexOf(label);
      for (let j = 0; j < 784; j++) assert.equal(batch.x[i * 784 + j], Math.fround(pixels[row * 784 + j]! / 255));
    }
  });

  const count = 40;
  // Row r is filled with the byte r, so a mixed pixel tells which rows were mixed.
  const pixels = Uint8Array.from({ length: count * 784 }, (_, i) => Math.floor(i / 784));
  const labels = Uint8Array.from({ length: count }, (_, r) => r % 10);
  const train = { pixels, labels, count };

  test('mixup pairs row i of stream one with row i of stream two, weighted by λ', () => {
    const batch = new EpochBatches(train, 'mixup', 0.2, 16, 9, 1).batch(0);
    const [rows1, rows2] = batch.rows!;
    for (let i = 0; i < batch.size; i++) {
      const l = batch.lam![i]!;
      const expected = l * (rows1[i]! / 255) + (1 - l) * (rows2[i]! / 255);
      assert.ok(Math.abs(batch.x[i * 784]! - expected) < 1e-6);
      assert.ok(Math.abs(batch.y[i * 10 + (rows1[i]! % 10)]! - (rows1[i]! % 10 === rows2[i]! % 10 ? 1 : l)) < 1e-6);
    }
  });

  test('at α = 0 the mixup arm sees exactly the baseline batches', () => {
    const mixup = new EpochBatches(train, 'mixup', 0, 16, 9, 2);
    const baseline = new EpochBatches(train, 'baseline', 0, 16, 9, 2);
    for (let step = 0; step < mixup.steps; step++) {
      const a = mixup.batch(step);
      const b = baseline.batch(step);
      assert.deepEqual([...a.x], [...b.x]);
      assert.deepEqual([...a.y], [...b.y]);
    }
  });
});
