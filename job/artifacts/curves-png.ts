/** `curves.png`: accuracy and loss per epoch, both arms, train (dashed) and validation (solid). */
import { createCanvas } from '@napi-rs/canvas';

import { fillBackground } from './canvas.js';
import { drawChart } from './chart.js';
import type { ChartSeries } from './chart.js';
import { armAugmentation } from '../augmentation-registry.js';
import type { ArmName, EpochRecord } from '../shared/metrics.js';
import { inArmOrder } from '../shared/run-settings.js';

const PANEL_WIDTH = 560;
const PANEL_HEIGHT = 400;
const SCALE = 2;

/** One colour per arm, its augmentation's, the same in every picture the project makes. */
export function armColor(arm: ArmName): string {
  return armAugmentation(arm)?.color ?? '#555555';
}

export function renderCurves(history: Record<ArmName, readonly EpochRecord[]>): Buffer {
  const canvas = createCanvas(PANEL_WIDTH * 2 * SCALE, PANEL_HEIGHT * SCALE);
  const ctx = canvas.getContext('2d');
  ctx.scale(SCALE, SCALE);
  fillBackground(ctx, PANEL_WIDTH * 2, PANEL_HEIGHT);
  const panels = [
    { title: 'Accuracy', yLabel: 'accuracy', train: 'accuracy', val: 'valAccuracy' },
    { title: 'Loss', yLabel: 'loss (cross-entropy)', train: 'loss', val: 'valLoss' },
  ] as const;
  panels.forEach((panel, i) => {
    const series: ChartSeries[] = inArmOrder(Object.keys(history)).filter((arm) => history[arm]?.length).flatMap((arm) => {
      const records = history[arm]!;
      return [
        {
          label: `${arm} train`,
          color: armColor(arm),
          line: 'dashed',
          marker: 'none',
          points: records.map((r) => ({ x: r.epoch, y: r[panel.train] })),
        },
        {
          label: `${arm} validation`,
          color: armColor(arm),
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
