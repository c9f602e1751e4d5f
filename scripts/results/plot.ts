/** Accuracy against α as a PNG, drawn with the job's chart renderer in the arms' colours. */
import { renderChart } from '../../job/artifacts/chart.js';
import { armColor } from '../../job/artifacts/curves-png.js';
import type { AlphaRow } from './aggregate.js';

/** Accuracy (%) against α, both arms, with 95 % interval bars. */
export function renderAccuracyPlot(rows: readonly AlphaRow[]): Buffer {
  const alphas = rows.map((row) => row.alpha);
  // The arms share every α; a small sideways dodge keeps their error bars apart.
  const dodge = (Math.max(...alphas) - Math.min(...alphas) || 1) * 0.008;
  const series = (['mixup', 'baseline'] as const).map((arm, i) => ({
    label: arm === 'mixup' ? 'mixup (mean ± 95 % CI)' : 'baseline (mean ± 95 % CI)',
    color: armColor(arm),
    marker: arm === 'mixup' ? ('circle' as const) : ('square' as const),
    points: rows.flatMap((row) => {
      const interval = row[arm];
      if (!interval) return [];
      return [{
        x: row.alpha + (i === 0 ? -dodge : dodge),
        y: interval.mean * 100,
        // A t interval over two seeds can reach past 100 %; accuracy cannot, so the bar stops there.
        ...(interval.low !== null && interval.high !== null
          ? { yLow: Math.max(0, interval.low * 100), yHigh: Math.min(100, interval.high * 100) }
          : {}),
      }];
    }),
  }));
  return renderChart({
    title: 'Test accuracy against α',
    xLabel: 'α (mixup Beta concentration; baseline does not mix)',
    yLabel: 'test accuracy (%)',
    xTicks: alphas,
    xTickFormat: (x) => String(x),
    series,
  });
}

