/**
 * Pinned metrics: wasm runs are bit-reproducible (same seed, data, Node and tfjs give the same
 * floats on any machine), so tests compare a run with stored numbers, not only with another run of
 * the same code. test/support/write-golden.ts regenerates them, for a change meant to alter them.
 */
import { readFileSync } from 'node:fs';
import type { Metrics } from '../../job/shared/metrics.js';

/** The numbers a run computes, without its timings: per arm, test loss/accuracy and the history. */
export function runNumbers(metrics: Metrics): unknown {
  return Object.fromEntries(
    Object.entries(metrics.arms).map(([arm, m]) => [
      arm,
      { test: m!.test, history: m!.history.map(({ seconds: _seconds, ...rest }) => rest) },
    ]),
  );
}

/** test/golden/<name>.json */
export function golden(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../golden/${name}.json`, import.meta.url), 'utf8')) as unknown;
}
