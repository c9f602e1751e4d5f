import { z } from 'zod';

import type { Augmentation } from '../augmentation.js';
import type { Rng } from '../random.js';
import { alphaSchema } from '../shared/alpha.js';

/**
 * MixUp: H. Zhang, M. Cisse, Y. N. Dauphin, D. Lopez-Paz, "mixup: Beyond Empirical Risk
 * Minimization", ICLR 2018, arXiv:1710.09412 — train on convex combinations of pairs of examples
 * and of their labels, with the weight λ drawn from Beta(α, α).
 *
 * λ ~ Beta(α, α) per sample (the Keras example draws one per sample, not one per batch as the
 * paper's code does), as g1 / (g1 + g2) with g ~ Gamma(shape = α, scale = 1) — α is the
 * *shape* (keras-cv once passed it as the rate, which makes λ uniform whatever α is).
 * α = 0 means no mixing: λ = 1 for every sample.
 */
export function sampleLambda(alpha: number, count: number, rng: Rng): Float32Array {
  const lam = new Float32Array(count);
  if (alpha === 0) return lam.fill(1);
  for (let i = 0; i < count; i++) {
    const p1 = rng.logGammaParts(alpha);
    const p2 = rng.logGammaParts(alpha);
    // g1 / (g1 + g2) = 1 / (1 + exp(lg2 − lg1)), exact where both draws underflow.
    let difference = p2.base + p2.logU / alpha - (p1.base + p1.logU / alpha);
    // Both logs −∞ (α below ~1e-307): the difference of the terms is still defined, and ±∞ gives
    // λ = 0 or 1, the limit of Beta(α, α) as α → 0.
    if (Number.isNaN(difference)) difference = p2.base - p1.base + (p2.logU - p1.logU) / alpha;
    lam[i] = 1 / (1 + Math.exp(difference));
  }
  return lam;
}

/**
 * x = λ·x1 + (1 − λ)·x2 and y = λ·y1 + (1 − λ)·y2, row by row (row lengths from the sizes of
 * x1 and y1 over λ's length). Written into `out` when given, so a training loop reuses buffers.
 */
export function mixBatch(
  x1: Float32Array,
  y1: Float32Array,
  x2: Float32Array,
  y2: Float32Array,
  lam: Float32Array,
  out: { x: Float32Array; y: Float32Array } = {
    x: new Float32Array(x1.length),
    y: new Float32Array(y1.length),
  },
): { x: Float32Array; y: Float32Array } {
  const n = lam.length;
  if (x1.length !== x2.length || y1.length !== y2.length || x1.length % n || y1.length % n) {
    throw new RangeError('mixBatch: both batches must have the same shape, one λ per row');
  }
  mixRows(x1, x2, lam, x1.length / n, out.x);
  mixRows(y1, y2, lam, y1.length / n, out.y);
  return out;
}

/** out = λ·a + (1 − λ)·b, row by row (one λ per row of `width` floats). */
export function mixRows(a: Float32Array, b: Float32Array, lam: Float32Array, width: number, out: Float32Array): void {
  for (let i = 0; i < lam.length; i++) {
    const l = lam[i]!;
    const m = 1 - l;
    let j = i * width;
    const end = j + width;
    // Unrolled by four: V8 does not vectorise, and the loop's bookkeeping was a third of its time.
    for (const end4 = j + (width & ~3); j < end4; j += 4) {
      out[j] = l * a[j]! + m * b[j]!;
      out[j + 1] = l * a[j + 1]! + m * b[j + 1]!;
      out[j + 2] = l * a[j + 2]! + m * b[j + 2]!;
      out[j + 3] = l * a[j + 3]! + m * b[j + 3]!;
    }
    for (; j < end; j++) out[j] = l * a[j]! + m * b[j]!;
  }
}

/** The Keras MixUp example's augmentation: every pixel and label a convex combination of two samples. */
const mixup: Augmentation<{ alpha: number }> = {
  name: 'mixup',
  title: 'MixUp',
  samplesTitle: 'MixUp training samples (λ·image A + (1 − λ)·image B)',
  color: '#1f77b4',
  params: z.object({ alpha: alphaSchema }),
  pairs: true,
  combine(one, two, { alpha }, random, _shape, out) {
    const lam = sampleLambda(alpha, one.size, random('lambda'));
    mixBatch(one.x, one.y, two.x, two.y, lam, out);
    return { x: out.x, y: out.y, lam };
  },
};

export default mixup;
