/** Per α: the mean test accuracy of each arm and their paired difference, with Student-t intervals over seeds. */
import type { ArmName } from '../../job/shared/metrics.js';
import type { ComputeSummary } from './cost.js';
import { confidenceInterval, CONFIDENCE_LEVEL, pairedDifferences, type Interval } from '../../job/stats.js';
import { RUN_STATES, type RunResult, type RunState } from './read.js';

export interface AlphaRow {
  readonly alpha: number;
  readonly mixup: Interval | null;
  readonly baseline: Interval | null;
  /** Paired over seeds with both arms complete. */
  readonly difference: Interval | null;
  readonly runs: Readonly<Record<RunState, number>>;
  readonly total: number;
}

export interface ResultsSummary {
  readonly kind: 'sweep' | 'run';
  readonly id: string;
  /** The sweep's or the run's base URI. */
  readonly uri: string;
  readonly level: number;
  readonly rows: readonly AlphaRow[];
  readonly runs: readonly RunResult[];
  /** Compute seconds and the estimated cost, per run and in all. */
  readonly compute: ComputeSummary;
  /** Where the plot and the report went, when asked for. */
  readonly plot: string | null;
  readonly report: string | null;
}


/** Groups runs by α (ascending) and computes the intervals. Pure. */
export function aggregate(runs: readonly RunResult[], level = CONFIDENCE_LEVEL): AlphaRow[] {
  const alphas = [...new Set(runs.map((run) => run.alpha))].sort((a, b) => a - b);
  return alphas.map((alpha) => {
    const group = runs.filter((run) => Object.is(run.alpha, alpha) || run.alpha === alpha);
    const complete = group.filter((run) => run.state === 'complete').sort((a, b) => a.seed - b.seed);
    const arm = (name: ArmName) => complete.flatMap((run) => (run.accuracy[name] === undefined ? [] : [run.accuracy[name]!]));
    const paired = complete.filter((run) => run.accuracy.mixup !== undefined && run.accuracy.baseline !== undefined);
    const differences = pairedDifferences(
      paired.map((run) => run.accuracy.mixup!),
      paired.map((run) => run.accuracy.baseline!),
    );
    const counts = Object.fromEntries(RUN_STATES.map((state) => [state, 0])) as Record<RunState, number>;
    for (const run of group) counts[run.state]++;
    const interval = (values: number[]) => (values.length > 0 ? confidenceInterval(values, level) : null);
    return {
      alpha,
      mixup: interval(arm('mixup')),
      baseline: interval(arm('baseline')),
      difference: interval(differences),
      runs: counts,
      total: group.length,
    };
  });
}
