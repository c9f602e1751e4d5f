/** Accuracy against α as a PNG, drawn with the job's chart renderer: one line per method, and the baseline. */
import { renderChart, type ChartSeries } from '../../job/artifacts/chart.js';
import { armAugmentation } from '../../job/augmentation-registry.js';
import type { ResultRow } from './aggregate.js';

/** Colours for a method this version does not know (a newer writer's); known ones take their augmentation's. */
const SPARE_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Accuracy (%) against α: each method's arm and the baseline, with 95 % interval bars. */
export function renderAccuracyPlot(rows: readonly ResultRow[]): Buffer {
  const alphas = [...new Set(rows.map((row) => row.alpha))].sort((a, b) => a - b);
  const methods = [...new Set(rows.map((row) => row.method))];
  // The lines share every α; a small sideways dodge keeps their error bars apart.
  const step = (Math.max(...alphas) - Math.min(...alphas) || 1) * 0.008;
  const dodge = (i: number) => (i - methods.length / 2) * step;
  const series: ChartSeries[] = methods.map((method, i) => {
    const augmentation = armAugmentation(method);
    return {
      label: `${augmentation?.title ?? method} (mean ± 95 % CI)`,
      color: augmentation?.color ?? SPARE_COLORS[i % SPARE_COLORS.length]!,
      marker: 'circle',
      points: rows.filter((row) => row.method === method).flatMap((row) => point(row.alpha + dodge(i), row.augmented)),
    };
  });
  // Every method's rows carry the same baselines (one per seed, shared): one line, from the first row at each α.
  const baselineRows = alphas.flatMap((alpha) => rows.find((row) => row.alpha === alpha && row.baseline) ?? []);
  series.push({
    label: 'baseline (mean ± 95 % CI)',
    color: armAugmentation('baseline')?.color ?? '#ff7f0e',
    marker: 'square',
    line: 'dashed',
    points: baselineRows.flatMap((row) => point(row.alpha + dodge(methods.length), row.baseline)),
  });
  return renderChart({
    title: 'Test accuracy against α',
    xLabel: 'α (Beta concentration of the mixing weights; the baseline does not mix)',
    yLabel: 'test accuracy (%)',
    xTicks: alphas,
    xTickFormat: (x) => String(x),
    series,
  });
}

function point(x: number, interval: ResultRow['baseline']): { x: number; y: number; yLow?: number; yHigh?: number }[] {
  if (!interval) return [];
  return [{
    x,
    y: interval.mean * 100,
    // A t interval over two seeds can reach past 100 %; accuracy cannot, so the bar stops there.
    ...(interval.low !== null && interval.high !== null ? { yLow: Math.max(0, interval.low * 100), yHigh: Math.min(100, interval.high * 100) } : {}),
  }];
}
