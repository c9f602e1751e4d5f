import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EpochBatches, sliceRows } from '../../job/batches.js';
import { sampleLambda } from '../../job/augmentations/mixup.js';
import { batchCount, batchSlice, bufferedShuffle, epochOrder } from '../../job/pairs.js';
import { Rng, rngFor } from '../../job/random.js';

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

describe('bufferedShuffle, step by step', () => {
  test('slot 0 every time: emits the slot, refills it with the next element, then drains from the end', () => {
    const asked: number[] = [];
    const order = bufferedShuffle(5, 3, (k) => (asked.push(k), 0));
    assert.deepEqual([...order], [0, 3, 4, 2, 1]);
    assert.deepEqual(asked, [3, 3, 3, 2, 1], 'the random slot is drawn among the filled ones');
  });

  test('the last slot every time', () => {
    assert.deepEqual([...bufferedShuffle(5, 3, (k) => k - 1)], [2, 3, 4, 1, 0]);
  });

  test('a buffer larger than the data holds the data only', () => {
    const asked: number[] = [];
    assert.deepEqual([...bufferedShuffle(3, 10, (k) => (asked.push(k), 0))], [0, 2, 1]);
    assert.deepEqual(asked, [3, 2, 1]);
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

  test('the order of a (seed, stream, epoch) is pinned: a resumed or later run draws the same', () => {
    assert.deepEqual([...epochOrder(12, 2, 42, 'two', 1)], [2, 7, 0, 11, 6, 8, 10, 1, 5, 4, 3, 9]);
  });

  test('batches slice the order in turn', () => {
    const order = Int32Array.from([5, 4, 3, 2, 1]);
    assert.deepEqual([...batchSlice(order, 2, 0)], [5, 4]);
    assert.deepEqual([...batchSlice(order, 2, 1)], [3, 2]);
    assert.deepEqual([...batchSlice(order, 2, 2)], [1]);
    assert.equal(batchCount(5, 2), 3);
    assert.equal(batchCount(4, 2), 2);
  });

  test('the last batch keeps the remainder', () => {
    const order = epochOrder(130, 64, 1, 'one', 1);
    assert.equal(batchCount(130, 64), 3);
    assert.equal(batchSlice(order, 64, 2).length, 2);
  });
});

/** An arm of `augmentation` with α (which the baseline's `none` does not read). */
const arm = (augmentation: string, alpha: number) => ({ augmentation, params: { alpha } });

describe('EpochBatches', () => {
  test('training bytes become pixels / 255 and one-hot labels as they are gathered', () => {
    const pixels = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256);
    const batch = new EpochBatches({ pixels, labels: Uint8Array.from([3, 1, 4]), count: 3 }, arm('none', 0), 8, 1, 1).batch(0);
    for (let i = 0; i < batch.size; i++) {
      const label = batch.y.subarray(i * 10, i * 10 + 10).indexOf(1);
      const row = [3, 1, 4].indexOf(label);
      for (let j = 0; j < 784; j++) assert.equal(batch.x[i * 784 + j], Math.fround(pixels[row * 784 + j]! / 255));
    }
  });

  const count = 40;
  // Row r carries r in pixel 0 and a nonlinear code of r in pixel 1, so that a mixed image alone tells
  // which two rows were mixed and with which λ: nothing below reads the rows the code reports.
  const code = (r: number) => (r * r * 7 + 3) % 256;
  const pixels = new Uint8Array(count * 784);
  for (let r = 0; r < count; r++) [pixels[r * 784], pixels[r * 784 + 1]] = [r, code(r)];
  const labels = Uint8Array.from({ length: count }, (_, r) => r % 10);
  const train = { pixels, labels, count };

  /** Stream two's row and λ behind a mixed sample whose stream-one row is known; null if λ ≈ 1 hides it. */
  function unmix(x0: number, x1: number, one: number): { two: number; lam: number } | null {
    const found: { two: number; lam: number }[] = [];
    for (let b = 0; b < count; b++) {
      if (b === one) continue;
      const lam = (x0 * 255 - b) / (one - b);
      if (lam < 0.03 || lam > 0.97) continue;
      if (Math.abs(x1 * 255 - (lam * code(one) + (1 - lam) * code(b))) < 1e-3) found.push({ two: b, lam });
    }
    return found.length === 1 ? found[0]! : null;
  }

  test('mixup mixes each baseline row with a row of an independent second stream, weighted by λ', () => {
    const mixup = new EpochBatches(train, arm('mixup', 1), 8, 9, 1);
    const baseline = new EpochBatches(train, arm('none', 1), 8, 9, 1);
    const secondRows: number[] = [];
    let lambdas: number[] = [];
    let identified = 0;
    for (let step = 0; step < mixup.steps; step++) {
      const b = baseline.batch(step);
      const oneRows = Array.from({ length: b.size }, (_, i) => Math.round(b.x[i * 784]! * 255));
      const m = mixup.batch(step);
      lambdas = lambdas.concat(Array.from(m.lam));
      for (let i = 0; i < m.size; i++) {
        const found = unmix(m.x[i * 784]!, m.x[i * 784 + 1]!, oneRows[i]!);
        if (found === null) continue;
        identified++;
        secondRows.push(found.two);
        assert.ok(Math.abs(found.lam - m.lam[i]!) < 1e-4, `step ${step} sample ${i}: λ ${found.lam} from the pixels, ${m.lam[i]} reported`);
        // Labels mix with the same λ: λ on stream one's class, 1 − λ on stream two's.
        const y = Array.from(m.y.subarray(i * 10, i * 10 + 10));
        const expected = new Array(10).fill(0);
        expected[oneRows[i]! % 10] += found.lam;
        expected[found.two % 10] += 1 - found.lam;
        y.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-4, `step ${step} sample ${i} class ${k}: ${v} vs ${expected[k]}`));
      }
    }
    // At α = 1 λ is uniform: only the few near 0 or 1 (and pairs of equal rows) hide stream two.
    assert.ok(identified >= 0.8 * count, `stream two identified for ${identified} of ${count} samples`);
    assert.ok(new Set(secondRows).size === secondRows.length, 'stream two is a shuffle: no row twice in an epoch');
    assert.ok(lambdas.some((l) => l < 0.9) && lambdas.some((l) => l > 0.1), `λ spreads over (0, 1): ${lambdas.join(', ')}`);
  });

  test('at α > 0, most rows of stream two differ from stream one, and λ is not all 1', () => {
    const batches = new EpochBatches(train, arm('mixup', 0.2), 16, 9, 1);
    let same = 0;
    let total = 0;
    const lambdas: number[] = [];
    for (let step = 0; step < batches.steps; step++) {
      const b = batches.batch(step);
      const [one, two] = b.rows;
      for (let i = 0; i < b.size; i++) same += one[i] === two[i] ? 1 : 0;
      total += b.size;
      lambdas.push(...b.lam);
    }
    assert.ok(same <= total / 4, `${same} of ${total} samples mixed with themselves`);
    assert.ok(lambdas.filter((l) => l < 0.999).length >= total / 4, `λ: ${lambdas.join(', ')}`);
  });

  test('at α = 0 the mixup arm sees exactly the baseline batches', () => {
    const mixup = new EpochBatches(train, arm('mixup', 0), 16, 9, 2);
    const baseline = new EpochBatches(train, arm('none', 0), 16, 9, 2);
    for (let step = 0; step < mixup.steps; step++) {
      const a = mixup.batch(step);
      const b = baseline.batch(step);
      assert.deepEqual([...a.x], [...b.x]);
      assert.deepEqual([...a.y], [...b.y]);
    }
  });

  test('the streams and λ are the named draws of the run seed: shuffle one, shuffle two, lambda per step', () => {
    const batches = new EpochBatches(train, arm('mixup', 0.4), 16, 9, 2);
    const one = epochOrder(count, 16, 9, 'one', 2);
    const two = epochOrder(count, 16, 9, 'two', 2);
    for (let step = 0; step < batches.steps; step++) {
      const b = batches.batch(step);
      assert.deepEqual([...b.rows[0]], [...batchSlice(one, 16, step)]);
      assert.deepEqual([...b.rows[1]], [...batchSlice(two, 16, step)]);
      assert.deepEqual([...b.lam], [...sampleLambda(0.4, b.size, rngFor(9, 'lambda', 2, step))]);
    }
  });

  test('the baseline never mixes, whatever α it is given', () => {
    const b = new EpochBatches(train, arm('none', 0.4), 16, 9, 2).batch(0);
    assert.ok(b.lam.every((l) => l === 1));
    assert.equal(b.rows[1], b.rows[0], 'no second stream is drawn');
    assert.equal(b.boxes, undefined);
    const rows = batchSlice(epochOrder(count, 16, 9, 'one', 2), 16, 0);
    rows.forEach((r, i) => assert.equal(b.x[i * 784], Math.fround(r / 255)));
  });
});

describe('sliceRows', () => {
  test('rows start to end of images and labels, without copying', () => {
    const data = { x: Float32Array.from({ length: 4 * 784 }, (_, i) => Math.floor(i / 784)), y: Float32Array.from({ length: 40 }, (_, i) => i), count: 4 };
    const slice = sliceRows(data, 1, 3);
    assert.equal(slice.size, 2);
    assert.equal(slice.x.length, 2 * 784);
    assert.deepEqual([slice.x[0], slice.x[2 * 784 - 1]], [1, 2]);
    assert.deepEqual([...slice.y], Array.from({ length: 20 }, (_, i) => 10 + i));
    assert.equal(slice.x.buffer, data.x.buffer);
  });
});
