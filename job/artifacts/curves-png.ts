/** `curves.png`: accuracy and loss per epoch, both arms, train (dashed) and validation (solid). */
import { createCanvas } from '@napi-rs/canvas';

import { fillBackground } from './canvas.js';
import { drawChart } from './chart.js';
import type { ChartSeries } from './chart.js';
import type { ArmName, EpochRecord } from '../shared/metrics.js';

const PANEL_WIDTH = 560;
const PANEL_HEIGHT = 400;
const SCALE = 2;

/** One colour per arm, the same in every picture the project makes. */
export const ARM_COLORS: Record<ArmName, string> = { mixup: '#1f77b4', baseline: '#ff7f0e' };
const ARM_ORDER: readonly ArmName[] = ['mixup', 'baseline'];

export function renderCurves(history: Partial<Record<ArmName, readonly EpochRecord[]>>): Buffer {
  const canvas = createCanvas(PANEL_WIDTH * 2 * SCALE, PANEL_HEIGHT * SCALE);
  const ctx = canvas.getContext('2d');
  ctx.scale(SCALE, SCALE);
  fillBackground(ctx, PANEL_WIDTH * 2, PANEL_HEIGHT);
  const panels = [
    { title: 'Accuracy', yLabel: 'accuracy', train: 'accuracy', val: 'valAccuracy' },
    { title: 'Loss', yLabel: 'loss (cross-entropy)', train: 'loss', val: 'valLoss' },
  ] as const;
  panels.forEach((panel, i) => {
    const series: ChartSeries[] = ARM_ORDER.filter((arm) => history[arm]?.length).flatMap((arm) => {
      const records = history[arm]!;
      return [
        {
          label: `${arm} train`,
          color: ARM_COLORS[arm],
          line: 'dashed',
          marker: 'none',
          points: records.map((r) => ({ x: r.epoch, y: r[panel.train] })),
        },
        {
          label: `${arm} validation`,
          color: ARM_COLORS[arm],
          line: 'solid',
          marker: 'circle',
          points: records.map((r) => ({ x: r.epoch, y: r[panel.val] })),
        },
      ] satisfies ChartSeries[];
    });
    drawChart(
      ctx,
      { x: i * PANEL_WIDTH, y: 0, width: PANEL_WIDTH, height: PANEL_HEIGHT },
      {
        title: panel.title,
        xLabel: 'epoch',
        yLabel: panel.yLabel,
        integerX: true,
        // Mixup's train curves (on soft labels) sit far from the others and move between runs, so the
        // legend takes whichever corner hides the fewest points.
        legend: 'auto',
        series,
      },
    );
  });
  return canvas.toBuffer('image/png');
}
