/**
 * Per method and α: the mean test accuracy of the method's arm and of the baseline, and their paired
 * difference, with Student-t intervals over seeds.
 */
import type { ComputeSummary } from './cost.js';
import { confidenceInterval, CONFIDENCE_LEVEL, pairedDifferences, type Interval } from '../../job/stats.js';
import { RUN_STATES, type RunResult, type RunState } from './read.js';

export interface ResultRow {
  /** The augmentation of the augmented arm. */
  readonly method: string;
  readonly alpha: number;
  /** The method's arm. */
  readonly augmented: Interval | null;
  readonly baseline: Interval | null;
  /** Augmented − baseline, paired over seeds with both arms complete. */
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
  readonly rows: readonly ResultRow[];
  readonly runs: readonly RunResult[];
  /** Compute seconds and the estimated cost, per run and in all. */
  readonly compute: ComputeSummary;
  /** Where the plot and the report went, when asked for. */
  readonly plot: string | null;
  readonly report: string | null;
}

/** Groups runs by method (in the order they come) and α (ascending), and computes the intervals. Pure. */
export function aggregate(runs: readonly RunResult[], level = CONFIDENCE_LEVEL): ResultRow[] {
  const methods = [...new Set(runs.map((run) => run.method))];
  return methods.flatMap((method) => {
    const ofMethod = runs.filter((run) => run.method === method);
    const alphas = [...new Set(ofMethod.map((run) => run.alpha))].sort((a, b) => a - b);
    return alphas.map((alpha) => {
      const group = ofMethod.filter((run) => Object.is(run.alpha, alpha) || run.alpha === alpha);
      const complete = group.filter((run) => run.state === 'complete').sort((a, b) => a.seed - b.seed);
      const arm = (name: 'augmented' | 'baseline') => complete.flatMap((run) => (run.accuracy[name] === undefined ? [] : [run.accuracy[name]!]));
      const paired = complete.filter((run) => run.accuracy.augmented !== undefined && run.accuracy.baseline !== undefined);
      const differences = pairedDifferences(
        paired.map((run) => run.accuracy.augmented!),
        paired.map((run) => run.accuracy.baseline!),
      );
      const counts = Object.fromEntries(RUN_STATES.map((state) => [state, 0])) as Record<RunState, number>;
      for (const run of group) counts[run.state]++;
      const interval = (values: number[]) => (values.length > 0 ? confidenceInterval(values, level) : null);
      return {
        method,
        alpha,
        augmented: interval(arm('augmented')),
        baseline: interval(arm('baseline')),
        difference: interval(differences),
        runs: counts,
        total: group.length,
      };
    });
  });
}
