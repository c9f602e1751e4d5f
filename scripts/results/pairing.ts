/**
 * A sweep with shared baselines (sweep.json version 2) trains each seed's baseline once and one mixup
 * arm per (α > 0, seed). `results` pairs them back into one row per (α, seed): the baseline of seed s
 * with every α's mixup arm of seed s; at α = 0 the mixup arm IS the baseline (common random numbers).
 */
import { baselineRunId, gridRunId } from '../../job/shared/grid.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { RUN_STATES, type RunResult, type RunState } from './read.js';

/** One (α, seed) row per grid point, from the arm runs read back in `record.runs` order. */
export function pairArmRuns(record: SweepRecord, runs: readonly RunResult[]): RunResult[] {
  const byId = new Map(runs.map((run) => [run.runId, run]));
  return record.grid.alphas.flatMap((alpha) =>
    record.grid.seeds.map((seed) => {
      const baseline = byId.get(baselineRunId(seed));
      const mixup = alpha === 0 ? baseline : byId.get(gridRunId(alpha, seed));
      const parts = [mixup, baseline].filter((run): run is RunResult => run !== undefined);
      // A row is as far along as its least finished part; a part the sweep never planned is missing.
      const state: RunState = parts.length < 2 ? 'missing' : worst(parts.map((run) => run.state));
      const mixupAccuracy = alpha === 0 ? baseline?.accuracy.baseline : mixup?.accuracy.mixup;
      return {
        runId: alpha === 0 ? baselineRunId(seed) : gridRunId(alpha, seed),
        alpha,
        seed,
        state,
        accuracy: state === 'complete' ? { mixup: mixupAccuracy, baseline: baseline?.accuracy.baseline } : {},
        problems: [...new Set(parts.flatMap((run) => run.problems))],
        uri: (mixup ?? baseline)?.uri ?? record.runsUri,
        objects: (mixup ?? baseline)?.objects ?? [],
        // Time and cost are counted per arm job (each baseline once), not per row.
        backend: (mixup ?? baseline)?.backend ?? null,
        wallSeconds: null,
      };
    }),
  );
}

/** The states in the order they are reported are also their order of completeness, worst last. */
function worst(states: RunState[]): RunState {
  const order: RunState[] = ['invalid', 'failed', 'running', 'incomplete', 'missing', 'complete'];
  return order.find((state) => states.includes(state)) ?? RUN_STATES[0]!;
}
