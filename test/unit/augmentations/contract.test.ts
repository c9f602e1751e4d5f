/**
 * What every augmentation of the registry promises, checked for each one found in job/augmentations/ —
 * so a new augmentation file is held to the contract without a line here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Augmentation, LabelledBatch } from '../../../job/augmentation.js';
import { armAugmentation, armSpec, augmentation, methodNames } from '../../../job/augmentation-registry.js';
import { IMAGE_SHAPE } from '../../../job/batches.js';
import { Rng, rngFor } from '../../../job/random.js';
import { resolveRunConfig } from '../../../job/config.js';

const SHAPE = IMAGE_SHAPE;
const PIXELS = SHAPE.rows * SHAPE.cols * SHAPE.channels;
const CLASSES = 10;
const SIZE = 24;

/** Image A's pixels are in [0, 0.5), image B's in [0.5, 1): every output pixel says where it came from. */
function batch(seed: number, low: number): LabelledBatch & { classes: number[] } {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: SIZE * PIXELS }, () => low + 0.5 * rng.float());
  const classes = Array.from({ length: SIZE }, () => rng.int(CLASSES));
  const y = new Float32Array(SIZE * CLASSES);
  classes.forEach((c, i) => (y[i * CLASSES + c] = 1));
  return { x, y, size: SIZE, classes };
}

function combine(aug: Augmentation, alpha: number, step = 0) {
  const one = batch(1, 0);
  const two = batch(2, 0.5);
  const copies = { x1: one.x.slice(), x2: two.x.slice(), y1: one.y.slice(), y2: two.y.slice() };
  const out = { x: new Float32Array(SIZE * PIXELS), y: new Float32Array(SIZE * CLASSES) };
  const params = aug.params.parse({ alpha });
  const result = aug.combine(one, aug.pairs ? two : one, params, (purpose) => rngFor(7, purpose, 1, step), SHAPE, out);
  return { one, two, copies, result };
}

describe('the registry', () => {
  test("finds none and mixup in job/augmentations/, and offers every augmentation but 'none' as a method", () => {
    assert.equal(augmentation('none').name, 'none');
    assert.equal(augmentation('mixup').name, 'mixup');
    assert.ok(methodNames().includes('mixup'));
    assert.ok(!methodNames().includes('none'));
  });

  test('an unknown method is a usage error listing the methods', () => {
    assert.throws(() => augmentation('blend'), /--method 'blend': must be one of .*mixup/);
  });

  test("the baseline arm is the arm with 'none'; the other arm is named by its method", () => {
    const config = resolveRunConfig({ runId: 'r', alpha: '0.4' }, {});
    assert.deepEqual(armSpec('baseline', config), { arm: 'baseline', augmentation: 'none', params: {} });
    assert.deepEqual(armSpec('mixup', config), { arm: 'mixup', augmentation: 'mixup', params: { alpha: 0.4 } });
    assert.equal(armAugmentation('baseline')?.name, 'none');
  });
});

for (const name of ['none', ...methodNames()]) {
  const aug = augmentation(name);
  describe(`${name} keeps the augmentation contract`, () => {
    for (const alpha of [0, 0.2, 1]) {
      test(`α = ${alpha}: labels are λ·label A + (1 − λ)·label B with λ in [0, 1], and the inputs are left alone`, () => {
        const { one, two, copies, result } = combine(aug, alpha);
        assert.equal(result.x.length, SIZE * PIXELS);
        assert.equal(result.y.length, SIZE * CLASSES);
        assert.equal(result.lam.length, SIZE);
        for (let i = 0; i < SIZE; i++) {
          const lam = result.lam[i]!;
          assert.ok(lam >= 0 && lam <= 1, `λ ${lam}`);
          const expected = new Array(CLASSES).fill(0);
          expected[one.classes[i]!] += lam;
          if (aug.pairs) expected[two.classes[i]!] += 1 - lam;
          else expected[one.classes[i]!] += 1 - lam;
          for (let k = 0; k < CLASSES; k++) assert.ok(Math.abs(result.y[i * CLASSES + k]! - expected[k]) < 1e-6, `sample ${i} class ${k}`);
        }
        assert.deepEqual(one.x, copies.x1);
        assert.deepEqual(one.y, copies.y1);
        assert.deepEqual(two.x, copies.x2);
        assert.deepEqual(two.y, copies.y2);
      });
    }

    test('α = 0 leaves every sample as it is: λ = 1 and image A unchanged', () => {
      const { one, result } = combine(aug, 0);
      assert.ok(result.lam.every((l) => l === 1));
      assert.deepEqual(result.x, one.x);
      assert.deepEqual(result.y, one.y);
    });

    test("each pixel comes from image A or image B, and B's share is 1 − λ, or within what mixing allows", () => {
      const { result } = combine(aug, 1, 3);
      for (let i = 0; i < SIZE; i++) {
        const image = result.x.subarray(i * PIXELS, (i + 1) * PIXELS);
        const box = result.boxes?.subarray(4 * i, 4 * i + 4);
        if (!box) continue;
        // A pasting augmentation: B's pixels exactly inside its box, A's outside, and λ is A's share of the area.
        const [left, top, width, height] = box as unknown as number[];
        let fromB = 0;
        image.forEach((v, p) => {
          const row = Math.floor(p / SHAPE.cols);
          const col = p % SHAPE.cols;
          const inside = row >= top! && row < top! + height! && col >= left! && col < left! + width!;
          assert.equal(v >= 0.5, inside, `sample ${i} pixel ${p}`);
          fromB += v >= 0.5 ? 1 : 0;
        });
        assert.equal(result.lam[i], Math.fround(1 - fromB / PIXELS));
      }
    });

    test('the same step draws the same batch; another step another', () => {
      const a = combine(aug, 0.4, 5).result;
      const b = combine(aug, 0.4, 5).result;
      assert.deepEqual(a.x, b.x);
      assert.deepEqual(a.lam, b.lam);
      if (aug.pairs) assert.notDeepEqual(combine(aug, 0.4, 6).result.lam, a.lam);
    });
  });
}
