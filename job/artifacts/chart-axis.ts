/** Axis ticks for the charts: "nice" steps for data ranges, or the given positions (a sweep's α values). */
export const DEFAULT_TICK_COUNT = 6;

export interface Axis {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/**
 * Tick positions at 1, 2 or 5 × 10^k (Heckbert's "nice numbers"); the range widens to whole steps so
 * the data never touches an unlabelled edge.
 */
export function niceAxis([lo, hi]: readonly [number, number], count = DEFAULT_TICK_COUNT, integer = false): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    // One value (a single epoch, a flat line): centre it in a small range instead of dividing by zero.
    const pad = integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  if (!integer) {
    // A little headroom, so a point at the extreme is not drawn on the axis line or the plot's edge.
    const pad = (hi - lo) * 0.04;
    [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceNumber(niceNumber(hi - lo, false) / Math.max(count - 1, 1), true);
  if (integer) step = Math.max(1, Math.round(step));
  const min = round12(Math.floor(lo / step + 1e-9) * step);
  const max = round12(Math.ceil(hi / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(round12(t));
  }
  return { min, max, step, ticks };
}

/** Drops binary floating-point noise (0.30000000000000004) from computed tick values. */
function round12(value: number): number {
  return Number(value.toPrecision(12));
}

export function explicitAxis(ticks: readonly number[], [lo, hi]: readonly [number, number]): Axis {
  const sorted = [...ticks].sort((a, b) => a - b);
  const span = hi - lo || Math.abs(lo) || 1;
  // A little room at both ends so the first and last markers are not cut in half by the axis.
  const min = lo - span * 0.05;
  const max = hi + span * 0.05;
  const gaps = sorted.slice(1).map((t, i) => t - sorted[i]!);
  return { min, max, step: gaps.length ? Math.min(...gaps) : span, ticks: sorted };
}

function niceNumber(range: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(range));
  const fraction = range / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

/** Formats ticks with just enough decimals for the step (0.05 → 2 decimals, 5 → none). */
export function stepFormat(step: number): (value: number) => string {
  const decimals = step > 0 && Number.isFinite(step) ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))) : 2;
  return (value) => {
    const text = value.toFixed(decimals);
    return Number(text) === 0 ? text.replace(/^-/, '') : text;
  };
}

export function extent(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
