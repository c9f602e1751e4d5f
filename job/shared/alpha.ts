/**
 * α, the Beta(α, α) concentration: the one rule `mixup run --alpha`, `MIXUP_ALPHA`, `mixup sweep
 * --alphas`, the grid variables and sweep.json all apply, so a value one accepts the others accept.
 */
import { z } from 'zod';

/** Beyond this λ is 0.5 to many digits: a larger α is a typo, not an experiment. */
export const MAX_ALPHA = 1e6;

/** Plain decimal notation (`0.2`, `.5`, `1e-3`); `Number()` would also take `0x10`, `0b1` or `Infinity`. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Zero as written: `0`, `0.0`, `.0`, `0e5`. */
const ZERO = /^[+-]?(0+\.?0*|\.0+)(e[+-]?\d+)?$/i;

/** The number a decimal text spells, or null when it is not plain decimal notation. */
export function parseDecimal(text: string): number | null {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : null;
}

/**
 * Why a decimal text cannot stand for the number it parses to, or null: `1e-400` is a positive number
 * that a double rounds to 0, and for α, 0 means "no mixing", which is not what was written.
 */
export function roundsToZero(text: string): string | null {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed) || Number(trimmed) !== 0 || ZERO.test(trimmed)) return null;
  return `${trimmed} rounds to 0, which means no mixing; write 0 for that, or a value ≥ 5e-324`;
}

/** Why `alpha` is not an acceptable α (completing "α …"), or null when it is. */
export function alphaProblem(alpha: number): string | null {
  if (!Number.isFinite(alpha)) return 'must be a finite number';
  if (alpha < 0) return 'must be ≥ 0 (0 means no mixing)';
  if (alpha > MAX_ALPHA) return `must be ≤ ${MAX_ALPHA.toExponential().replace('e+', 'e')}`;
  return null;
}

/** α as a number (sweep.json, metrics.json). */
export const alphaSchema = z.number().superRefine((alpha, ctx) => {
  const problem = alphaProblem(alpha);
  if (problem) ctx.addIssue({ code: 'custom', message: `α ${problem}` });
});

/** α as text (a flag or a variable): decimal notation, then the same rule. */
export const alphaTextSchema = z
  .string()
  .transform((text, ctx) => {
    const value = parseDecimal(text);
    if (value === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a number' });
      return z.NEVER;
    }
    const zero = roundsToZero(text);
    if (zero) {
      ctx.addIssue({ code: 'custom', message: zero });
      return z.NEVER;
    }
    const problem = alphaProblem(value);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return value;
  });
