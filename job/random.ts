import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * Seeded randomness. Every stream is derived from (run seed, purpose, epoch, step) rather than
 * carried along, so a run resumed at any step boundary draws exactly what an uninterrupted run
 * would have drawn, with no generator state to checkpoint.
 */
export class Rng {
  private readonly generator;

  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return uniformInt(this.generator, 0, n - 1);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    for (;;) {
      const u = 2 * this.float() - 1;
      const v = 2 * this.float() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
    }
  }

  /**
   * log of a Gamma(shape, scale = 1) draw (Marsaglia & Tsang 2000). Returned as a log because for
   * small shapes the draw itself underflows to 0 often enough to make g1 / (g1 + g2) = 0 / 0.
   */
  logGamma(shape: number): number {
    const { base, logU } = this.logGammaParts(shape);
    return base + logU / shape;
  }

  /**
   * The two terms of `logGamma(shape)` = base + logU / shape, drawn in the same order. For a shape so
   * small that logU / shape overflows to −∞ (α ≈ 1e-308 and below), the caller can still compare two
   * draws through their terms, where the sum cannot.
   */
  logGammaParts(shape: number): { base: number; logU: number } {
    if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
      const u = 1 - this.float(); // (0, 1]
      return { base: this.logGammaAtLeastOne(shape + 1), logU: Math.log(u) };
    }
    return { base: this.logGammaAtLeastOne(shape), logU: 0 };
  }

  private logGammaAtLeastOne(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.float();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
    }
  }
}

/** A 32-bit seed from a base seed and a path of labels/numbers (FNV-1a, then a murmur finaliser). */
export function deriveSeed(seed: number, ...path: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = [seed, ...path].join('/');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export function rngFor(seed: number, ...path: (string | number)[]): Rng {
  return new Rng(deriveSeed(seed, ...path));
}
