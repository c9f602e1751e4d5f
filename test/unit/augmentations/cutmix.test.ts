import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { LabelledBatch } from '../../../job/augmentation.js';
import { augmentation, methodNames } from '../../../job/augmentation-registry.js';
import cutmix, { boxLambda, cutmixBox } from '../../../job/augmentations/cutmix.js';
import { sampleLambda } from '../../../job/augmentations/mixup.js';
import { EpochBatches, IMAGE_SHAPE } from '../../../job/batches.js';
import { resolveRunConfig } from '../../../job/config.js';
import { Rng, rngFor } from '../../../job/random.js';

const SHAPE = IMAGE_SHAPE; // 28 × 28 × 1
const PIXELS = 784;

describe('the CutMix box (the Keras example\'s get_box)', () => {
  test('side ⌊S·√(1 − λ)⌋ around the centre: λ = 0.75 gives a 14 × 14 box, a quarter of the image', () => {
    const box = cutmixBox(0.75, { x: 14, y: 10 }, SHAPE);
    assert.deepEqual(box, { left: 7, top: 3, width: 14, height: 14 });
    assert.equal(boxLambda(box, SHAPE), 0.75);
  });

  test('an odd side loses a pixel, as centre ∓ ⌊side / 2⌋ does in the example: λ = 0.7 gives side 15, a 14-pixel box', () => {
    // 28·√0.3 = 15.34 → 15; 15 // 2 = 7 on each side of the centre.
    assert.deepEqual(cutmixBox(0.7, { x: 14, y: 14 }, SHAPE), { left: 7, top: 7, width: 14, height: 14 });
    // The side is truncated, not rounded (the example's int32 cast): 28·√0.5 = 19.8 → 19 → 9 each side.
    assert.deepEqual(cutmixBox(0.5, { x: 14, y: 14 }, SHAPE), { left: 5, top: 5, width: 18, height: 18 });
  });

  test('clipped at the border: the box keeps only its part inside the image, and λ is recomputed from that part', () => {
    const corner = cutmixBox(0.75, { x: 0, y: 0 }, SHAPE);
    assert.deepEqual(corner, { left: 0, top: 0, width: 7, height: 7 });
    assert.equal(boxLambda(corner, SHAPE), 1 - 49 / 784);
    const farCorner = cutmixBox(0.75, { x: 27, y: 27 }, SHAPE);
    assert.deepEqual(farCorner, { left: 20, top: 20, width: 8, height: 8 });
    assert.equal(boxLambda(farCorner, SHAPE), 1 - 64 / 784);
    const edge = cutmixBox(0.75, { x: 3, y: 14 }, SHAPE);
    assert.deepEqual(edge, { left: 0, top: 7, width: 10, height: 14 });
    assert.equal(boxLambda(edge, SHAPE), 1 - 140 / 784);
  });

  test('λ = 0 covers the whole image (from the centre pixel 14); λ = 1 still pastes one pixel, as the example does', () => {
    assert.deepEqual(cutmixBox(0, { x: 14, y: 14 }, SHAPE), { left: 0, top: 0, width: 28, height: 28 });
    assert.equal(boxLambda(cutmixBox(0, { x: 14, y: 14 }, SHAPE), SHAPE), 0);
    // `if target_h == 0: target_h += 1`: a box rounded to nothing is one pixel at the centre.
    assert.deepEqual(cutmixBox(1, { x: 5, y: 9 }, SHAPE), { left: 5, top: 9, width: 1, height: 1 });
    assert.deepEqual(cutmixBox(1, { x: 27, y: 27 }, SHAPE), { left: 27, top: 27, width: 1, height: 1 });
    assert.equal(boxLambda(cutmixBox(1, { x: 5, y: 9 }, SHAPE), SHAPE), 1 - 1 / 784);
  });

  test('a non-square image uses its height for the box height and its width for the box width', () => {
    // Width ⌊20·0.5⌋ = 10 around x = 10; height ⌊10·0.5⌋ = 5, so 5 ∓ 2 around y = 5.
    assert.deepEqual(cutmixBox(0.75, { x: 10, y: 5 }, { rows: 10, cols: 20 }), { left: 5, top: 3, width: 10, height: 4 });
  });
});

/** Image A is all 0.25 plus its sample index / 1000, image B all 0.75 plus the same: each pixel tells where it came from. */
function batches(size: number): { one: LabelledBatch; two: LabelledBatch; classesA: number[]; classesB: number[] } {
  const classesA = Array.from({ length: size }, (_, i) => i % 10);
  const classesB = Array.from({ length: size }, (_, i) => (i * 3 + 1) % 10);
  const x = (base: number) => Float32Array.from({ length: size * PIXELS }, (_, p) => base + Math.floor(p / PIXELS) / 1000);
  const y = (classes: number[]) => {
    const rows = new Float32Array(size * 10);
    classes.forEach((c, i) => (rows[i * 10 + c] = 1));
    return rows;
  };
  return { one: { x: x(0.25), y: y(classesA), size }, two: { x: x(0.75), y: y(classesB), size }, classesA, classesB };
}

function run(alpha: number, size: number, step = 0) {
  const b = batches(size);
  const out = { x: new Float32Array(size * PIXELS), y: new Float32Array(size * 10) };
  const result = cutmix.combine(b.one, b.two, { alpha }, (purpose) => rngFor(3, purpose, 1, step), SHAPE, out);
  return { ...b, result };
}

describe('cutmix.combine: per sample, image B inside the box, image A outside, labels by the real area', () => {
  test('every sample has its own box; its pixels come from B inside and from A outside, exactly', () => {
    const { result } = run(1, 32);
    assert.ok(result.boxes);
    const boxes = new Set<string>();
    for (let i = 0; i < 32; i++) {
      const [left, top, width, height] = [...result.boxes!.subarray(4 * i, 4 * i + 4)] as [number, number, number, number];
      boxes.add(`${left},${top},${width},${height}`);
      for (let p = 0; p < PIXELS; p++) {
        const row = Math.floor(p / 28);
        const col = p % 28;
        const inside = row >= top && row < top + height && col >= left && col < left + width;
        assert.equal(result.x[i * PIXELS + p], Math.fround((inside ? 0.75 : 0.25) + i / 1000), `sample ${i} pixel ${row},${col}`);
      }
    }
    assert.ok(boxes.size > 16, `boxes differ from sample to sample: ${boxes.size} distinct of 32`);
  });

  test("λ is A's share of the image after clipping, and the labels are λ·label A + (1 − λ)·label B", () => {
    const { result, classesA, classesB } = run(0.4, 40, 2);
    for (let i = 0; i < 40; i++) {
      const [, , width, height] = [...result.boxes!.subarray(4 * i, 4 * i + 4)] as [number, number, number, number];
      const lam = Math.fround(1 - (width * height) / PIXELS);
      assert.equal(result.lam[i], lam, `sample ${i}`);
      const expected = new Array(10).fill(0);
      expected[classesA[i]!] += lam;
      expected[classesB[i]!] += 1 - lam;
      for (let k = 0; k < 10; k++) assert.ok(Math.abs(result.y[i * 10 + k]! - expected[k]) < 1e-6, `sample ${i} class ${k}`);
    }
  });

  test('λ is drawn from Beta(α, α) as MixUp draws it, on the same stream: unclipped boxes give back the drawn λ to within the pixel grid', () => {
    const { result } = run(0.4, 64, 5);
    const drawn = sampleLambda(0.4, 64, rngFor(3, 'lambda', 1, 5));
    const centres = rngFor(3, 'cutmix-box', 1, 5);
    for (let i = 0; i < 64; i++) {
      const centre = { x: centres.int(28), y: centres.int(28) };
      const box = cutmixBox(drawn[i]!, centre, SHAPE);
      // The same box from the same draws, in the order the example makes them (x, then y).
      assert.deepEqual([...result.boxes!.subarray(4 * i, 4 * i + 4)], [box.left, box.top, box.width, box.height], `sample ${i}`);
    }
  });

  test('the centre is uniform over the pixels: one-pixel boxes land on every row and column about equally', () => {
    const rng = new Rng(11);
    const rows = new Array(28).fill(0);
    const cols = new Array(28).fill(0);
    for (let i = 0; i < 28_000; i++) {
      const box = cutmixBox(1, { x: rng.int(28), y: rng.int(28) }, SHAPE);
      cols[box.left]++;
      rows[box.top]++;
    }
    for (const counts of [rows, cols]) assert.ok(counts.every((n) => n > 800 && n < 1200), counts.join(' '));
  });

  test('α = 0 means no mixing: the batch as it is, λ = 1, no box', () => {
    const { one, result } = run(0, 8);
    assert.equal(result.x, one.x);
    assert.equal(result.y, one.y);
    assert.ok(result.lam.every((l) => l === 1));
    assert.equal(result.boxes, undefined);
  });

  test('across many draws the mean λ is close to Beta(1, 1)\'s 1/2, a little above it where boxes are clipped', () => {
    const { result } = run(1, 4000, 7);
    const mean = result.lam.reduce((a, b) => a + b, 0) / result.lam.length;
    assert.ok(mean > 0.5 && mean < 0.75, `mean λ ${mean}`);
  });
});

describe('cutmix as a method', () => {
  test('the registry finds it, and `mixup run --method cutmix` trains its arm with α as its parameter', () => {
    assert.ok(methodNames().includes('cutmix'));
    assert.equal(augmentation('cutmix'), cutmix);
    const config = resolveRunConfig({ method: 'cutmix', alpha: '1', runId: 'r' }, {});
    assert.equal(config.method, 'cutmix');
    assert.throws(() => resolveRunConfig({ method: 'cutmix', arms: 'mixup', runId: 'r' }, {}), /--arms 'mixup': must be both, baseline or cutmix/);
  });

  test('the epoch\'s batches pair the two streams and paste a box into each sample', () => {
    const count = 40;
    const pixels = new Uint8Array(count * PIXELS);
    for (let r = 0; r < count; r++) pixels.fill(r * 6, r * PIXELS, (r + 1) * PIXELS);
    const train = { pixels, labels: Uint8Array.from({ length: count }, (_, r) => r % 10), count };
    const batch = new EpochBatches(train, { augmentation: 'cutmix', params: { alpha: 1 } }, 16, 9, 1).batch(0);
    const [rows1, rows2] = batch.rows;
    for (let i = 0; i < batch.size; i++) {
      const [left, top] = [batch.boxes![4 * i]!, batch.boxes![4 * i + 1]!];
      assert.equal(batch.x[i * PIXELS + top * 28 + left], Math.fround((rows2[i]! * 6) / 255), 'the box holds stream two\'s image');
      const share = [...batch.x.subarray(i * PIXELS, (i + 1) * PIXELS)].filter((v) => v === Math.fround((rows1[i]! * 6) / 255)).length / PIXELS;
      if (rows1[i] !== rows2[i]) assert.equal(Math.fround(share), batch.lam[i], 'λ is the share of stream one\'s pixels');
    }
  });
});
