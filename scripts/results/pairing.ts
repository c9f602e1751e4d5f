/**
 * A sweep with shared baselines (sweep.json version 2 and 3) trains each seed's baseline once and one arm
 * per (method, α > 0, seed). `results` pairs them back into one row per (method, α, seed): the baseline of
 * seed s with every method's and α's arm of seed s; at α = 0 a method's arm IS the baseline (common
 * random numbers).
 */
import { baselineRunId, gridJobs } from '../../job/shared/grid.js';
import { BASELINE_ARM, DEFAULT_METHOD } from '../../job/shared/run-settings.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { RUN_STATES, type RunResult, type RunState } from './read.js';

/** One (method, α, seed) row per grid point, from the arm runs read back in `record.runs` order. */
export function pairArmRuns(record: SweepRecord, runs: readonly RunResult[]): RunResult[] {
  const { alphas, seeds } = record.grid;
  const methods = record.grid.methods ?? [DEFAULT_METHOD];
  const byId = new Map(runs.map((run) => [run.runId, run]));
  const armRunIds = new Map(
    gridJobs(alphas, seeds, record.grid.methods)
      .filter((job) => job.arms !== BASELINE_ARM)
      .map((job) => [`${job.method} ${job.alpha} ${job.seed}`, job.runId]),
  );
  return methods.flatMap((method) =>
    alphas.flatMap((alpha) =>
      seeds.map((seed) => {
        const runId = alpha === 0 ? baselineRunId(seed) : armRunIds.get(`${method} ${alpha} ${seed}`)!;
        const baseline = byId.get(baselineRunId(seed));
        const augmented = byId.get(runId);
        const parts = [augmented, baseline].filter((run): run is RunResult => run !== undefined);
        // A row is as far along as its least finished part; a part the sweep never planned is missing.
        const state: RunState = parts.length < 2 ? 'missing' : worst(parts.map((run) => run.state));
        const augmentedAccuracy = alpha === 0 ? baseline?.accuracy.baseline : augmented?.accuracy.augmented;
        return {
          runId,
          method,
          alpha,
          seed,
          state,
          accuracy: state === 'complete' ? { augmented: augmentedAccuracy, baseline: baseline?.accuracy.baseline } : {},
          problems: [...new Set(parts.flatMap((run) => run.problems))],
          uri: (augmented ?? baseline)?.uri ?? record.runsUri,
          objects: (augmented ?? baseline)?.objects ?? [],
          // Time and cost are counted per arm job (each baseline once), not per row.
          backend: (augmented ?? baseline)?.backend ?? null,
          wallSeconds: null,
        };
      }),
    ),
  );
}

/** The states in the order they are reported are also their order of completeness, worst last. */
function worst(states: RunState[]): RunState {
  const order: RunState[] = ['invalid', 'failed', 'running', 'incomplete', 'missing', 'complete'];
  return order.find((state) => states.includes(state)) ?? RUN_STATES[0]!;
}
