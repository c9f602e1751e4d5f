/**
 * CutMix: S. Yun, D. Han, S. J. Oh, S. Chun, J. Choe, Y. Yoo, "CutMix: Regularization Strategy to Train
 * Strong Classifiers with Localizable Features", ICCV 2019, arXiv:1905.04899 — paste a box of one image
 * into another and mix their labels by the share of the image each keeps.
 *
 * As the Keras example "CutMix data augmentation for image classification" does it, per sample (its
 * `cutmix` is mapped over single pairs of images before `.batch`, so every sample draws its own λ and its
 * own box; timm's default draws one per batch): λ ~ Beta(α, α); the box's height and width are
 * ⌊S·√(1 − λ)⌋ of the image's (S its height, resp. width); its centre is a uniform pixel; its edges are
 * the centre ∓ ⌊side / 2⌋, clipped to the image; a side clipped or rounded to nothing is one pixel (the
 * example's `if target_h == 0: target_h += 1`); image B's pixels replace image A's inside the box; and λ
 * is recomputed from the box's real area, 1 − area / image area, which weights the labels.
 * α = 0 means no mixing (λ = 1, no box), as for MixUp, so the arm at α = 0 is the baseline.
 */
import { z } from 'zod';

import type { Augmentation, ImageShape } from '../augmentation.js';
import { alphaSchema } from '../shared/alpha.js';
import { mixRows, sampleLambda } from './mixup.js';

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** The box for λ and a centre pixel (`get_box` of the Keras example). */
export function cutmixBox(lam: number, centre: { readonly x: number; readonly y: number }, shape: Pick<ImageShape, 'rows' | 'cols'>): Box {
  const ratio = Math.sqrt(1 - lam);
  // int32 casts in the example: truncation.
  const cutWidth = Math.trunc(shape.cols * ratio);
  const cutHeight = Math.trunc(shape.rows * ratio);
  const clip = (value: number, size: number) => Math.min(size, Math.max(0, value));
  const left = clip(centre.x - Math.floor(cutWidth / 2), shape.cols);
  const right = clip(centre.x + Math.floor(cutWidth / 2), shape.cols);
  const top = clip(centre.y - Math.floor(cutHeight / 2), shape.rows);
  const bottom = clip(centre.y + Math.floor(cutHeight / 2), shape.rows);
  // A centre lies inside the image, so a one-pixel side starting at `left` (or `top`) stays inside too.
  return { left, top, width: right - left || 1, height: bottom - top || 1 };
}

/** λ from the box's real area: the share of image A left outside it. */
export function boxLambda(box: Box, shape: Pick<ImageShape, 'rows' | 'cols'>): number {
  return 1 - (box.width * box.height) / (shape.rows * shape.cols);
}

/** Copies the box of image `i` of `from` into the same place of image `i` of `to`. */
function pasteBox(from: Float32Array, to: Float32Array, i: number, box: Box, shape: ImageShape): void {
  const { cols, channels } = shape;
  const image = i * shape.rows * cols * channels;
  const run = box.width * channels;
  for (let row = box.top; row < box.top + box.height; row++) {
    const start = image + (row * cols + box.left) * channels;
    to.set(from.subarray(start, start + run), start);
  }
}

const cutmix: Augmentation<{ alpha: number }> = {
  name: 'cutmix',
  title: 'CutMix',
  samplesTitle: "CutMix training samples (a box of image B pasted into image A; λ = A's share of the area)",
  color: '#2ca02c',
  params: z.object({ alpha: alphaSchema }),
  pairs: true,
  combine(one, two, { alpha }, random, shape, out) {
    const n = one.size;
    if (alpha === 0) return { x: one.x, y: one.y, lam: new Float32Array(n).fill(1) };
    // The same stream as MixUp's λ: at one step of one run both methods start from the same λ.
    const drawn = sampleLambda(alpha, n, random('lambda'));
    const centres = random('cutmix-box');
    const lam = new Float32Array(n);
    const boxes = new Int32Array(4 * n);
    out.x.set(one.x);
    for (let i = 0; i < n; i++) {
      // The example draws the centre's x, then its y: uniform over [0, S), cast to an integer.
      const centre = { x: centres.int(shape.cols), y: centres.int(shape.rows) };
      const box = cutmixBox(drawn[i]!, centre, shape);
      pasteBox(two.x, out.x, i, box, shape);
      lam[i] = boxLambda(box, shape);
      boxes.set([box.left, box.top, box.width, box.height], 4 * i);
    }
    mixRows(one.y, two.y, lam, one.y.length / n, out.y);
    return { x: out.x, y: out.y, lam, boxes };
  },
};

export default cutmix;
