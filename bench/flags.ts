import { UsageError } from '../job/errors.js';

/** A benchmark's whole-number flag, at least `min`: a UsageError naming the flag otherwise. */
export function positiveInt(name: string, text: string | undefined, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} ${text} must be a whole number ≥ ${min}`);
  return value;
}
