/**
 * The line charts the product draws (curves.png, the results plot): series of (x, y) points with
 * optional error bars, nice axis ticks, labels, a title and a legend. `drawChart` paints into a region
 * of any canvas (so panels can be composed); `renderChart` returns one chart as a PNG.
 * Hand-written on @napi-rs/canvas because that needs no native toolchain and this ships its own font,
 * so the image draws the same pixels with no system fonts.
 */
import { createCanvas } from '@napi-rs/canvas';
import type { SKRSContext2D } from '@napi-rs/canvas';

import { fillBackground, font } from './canvas.js';
import { DEFAULT_TICK_COUNT, explicitAxis, extent, niceAxis, stepFormat } from './chart-axis.js';

const DEFAULT_WIDTH = 800;
const DEFAULT_HEIGHT = 500;
const DEFAULT_SCALE = 2;
const LINE_WIDTH = 2;

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  /** Lower end of the error bar. @default - no error bar */
  readonly yLow?: number;
  /** Upper end of the error bar. @default - no error bar */
  readonly yHigh?: number;
}

export interface ChartSeries {
  readonly label: string;
  /** Points in drawing order; a non-finite y breaks the line. */
  readonly points: readonly ChartPoint[];
  readonly color: string;
  /** @default 'solid' */
  readonly line?: 'solid' | 'dashed';
  /** @default 'circle' */
  readonly marker?: 'circle' | 'square' | 'none';
}

/** 'auto': the corner that covers the fewest points. */
export type LegendPlace = 'auto' | 'none';

export interface ChartOptions {
  readonly series: readonly ChartSeries[];
  /** @default - no title */
  readonly title?: string;
  /** @default - no label */
  readonly xLabel?: string;
  /** @default - no label */
  readonly yLabel?: string;
  /** Explicit x tick positions (e.g. the α values of a sweep). @default - nice numbers */
  readonly xTicks?: readonly number[];
  /** Only whole-number x ticks (epochs). @default false */
  readonly integerX?: boolean;
  /** @default - as many decimals as the tick step needs */
  readonly xTickFormat?: (value: number) => string;
  /** @default 'auto' */
  readonly legend?: LegendPlace;
}

export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface RenderOptions {
  /** Logical width. @default 800 */
  readonly width?: number;
  /** Logical height. @default 500 */
  readonly height?: number;
  /** Device pixels per logical pixel; 2 keeps text crisp on high-density screens. @default 2 */
  readonly scale?: number;
}

export function renderChart(options: ChartOptions, render: RenderOptions = {}): Buffer {
  const width = render.width ?? DEFAULT_WIDTH;
  const height = render.height ?? DEFAULT_HEIGHT;
  const scale = render.scale ?? DEFAULT_SCALE;
  const canvas = createCanvas(Math.round(width * scale), Math.round(height * scale));
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  fillBackground(ctx, width, height);
  drawChart(ctx, { x: 0, y: 0, width, height }, options);
  return canvas.toBuffer('image/png');
}

/** Draws a chart into `region` of `ctx` (logical coordinates). */
export function drawChart(ctx: SKRSContext2D, region: Region, options: ChartOptions): void {
  ctx.save();
  const series = options.series;
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite);
  const ys = series
    .flatMap((s) => s.points.flatMap((p) => [p.y, p.yLow ?? p.y, p.yHigh ?? p.y]))
    .filter(Number.isFinite);

  const xScale = options.xTicks?.length
    ? explicitAxis(options.xTicks, extent(xs.concat(options.xTicks)))
    : niceAxis(extent(xs), DEFAULT_TICK_COUNT, options.integerX ?? false);
  const yScale = niceAxis(extent(ys), DEFAULT_TICK_COUNT, false);
  // Explicit ticks (sweep α values) can be uneven, so each shows its own shortest form.
  const xFormat =
    options.xTickFormat ?? (options.xTicks?.length ? (v: number) => String(Number(v.toPrecision(6))) : stepFormat(xScale.step));
  const yFormat = stepFormat(yScale.step);

  // Margins grow with the longest y tick label, so labels never collide with the axis title.
  ctx.font = font(11);
  const yTickWidth = Math.max(...yScale.ticks.map((t) => ctx.measureText(yFormat(t)).width), 10);
  const top = region.y + (options.title ? 34 : 12);
  const left = region.x + 12 + (options.yLabel ? 20 : 0) + yTickWidth + 8;
  const right = region.x + region.width - 16;
  const bottom = region.y + region.height - (options.xLabel ? 44 : 26);
  const plot = { x: left, y: top, width: Math.max(right - left, 10), height: Math.max(bottom - top, 10) };
  const px = (x: number) => plot.x + ((x - xScale.min) / (xScale.max - xScale.min)) * plot.width;
  const py = (y: number) => plot.y + plot.height - ((y - yScale.min) / (yScale.max - yScale.min)) * plot.height;

  if (options.title) {
    ctx.fillStyle = '#222222';
    ctx.font = font(15, true);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(options.title, region.x + region.width / 2, region.y + 22, region.width - 16);
  }

  // Grid and tick labels.
  ctx.lineWidth = 1;
  ctx.font = font(11);
  ctx.fillStyle = '#444444';
  ctx.strokeStyle = '#e6e6e6';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yScale.ticks) {
    const y = Math.round(py(t)) + 0.5;
    line(ctx, plot.x, y, plot.x + plot.width, y);
    ctx.fillText(yFormat(t), plot.x - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xScale.ticks) {
    const x = Math.round(px(t)) + 0.5;
    line(ctx, x, plot.y, x, plot.y + plot.height);
    ctx.fillText(xFormat(t), x, plot.y + plot.height + 6);
  }
  ctx.strokeStyle = '#888888';
  line(ctx, plot.x + 0.5, plot.y, plot.x + 0.5, plot.y + plot.height + 0.5);
  line(ctx, plot.x, plot.y + plot.height + 0.5, plot.x + plot.width, plot.y + plot.height + 0.5);

  ctx.fillStyle = '#333333';
  ctx.font = font(12);
  if (options.xLabel) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(options.xLabel, plot.x + plot.width / 2, region.y + region.height - 6);
  }
  if (options.yLabel) {
    ctx.save();
    ctx.translate(region.x + 8, plot.y + plot.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(options.yLabel, 0, 0);
    ctx.restore();
  }

  // Data, clipped to the plot so nothing spills over the labels.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x - 6, plot.y - 6, plot.width + 12, plot.height + 12);
  ctx.clip();
  for (const s of series) drawSeries(ctx, s, px, py);
  ctx.restore();

  const place = options.legend ?? 'auto';
  if (place !== 'none' && series.length > 0) {
    const points = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)).map((p) => [px(p.x), py(p.y)]));
    drawLegend(ctx, series, plot, points as [number, number][]);
  }
  ctx.restore();
}

function drawSeries(ctx: SKRSContext2D, s: ChartSeries, px: (x: number) => number, py: (y: number) => number): void {
  const color = s.color;
  const points = s.points.filter((p) => Number.isFinite(p.x));
  const withErrors = points.filter((p) => Number.isFinite(p.yLow) && Number.isFinite(p.yHigh));
  ctx.strokeStyle = color;
  ctx.fillStyle = color;

  if (withErrors.length > 0) {
    ctx.lineWidth = 1.2;
    ctx.setLineDash([]);
    for (const p of withErrors) {
      const x = px(p.x);
      line(ctx, x, py(p.yLow!), x, py(p.yHigh!));
      line(ctx, x - 4, py(p.yLow!), x + 4, py(p.yLow!));
      line(ctx, x - 4, py(p.yHigh!), x + 4, py(p.yHigh!));
    }
  }

  ctx.lineWidth = LINE_WIDTH;
  ctx.lineJoin = 'round';
  ctx.setLineDash(dashOf(s.line ?? 'solid'));
  ctx.beginPath();
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    if (pen) ctx.lineTo(px(p.x), py(p.y));
    else ctx.moveTo(px(p.x), py(p.y));
    pen = true;
  }
  ctx.stroke();
  ctx.setLineDash([]);

  const marker = s.marker ?? 'circle';
  points.forEach((p, i) => {
    if (!Number.isFinite(p.y)) return;
    if (marker !== 'none') {
      drawMarker(ctx, marker, px(p.x), py(p.y), color);
    } else if (!Number.isFinite(points[i - 1]?.y) && !Number.isFinite(points[i + 1]?.y)) {
      // A point with no neighbour draws no line segment; without this dot it would not show at all.
      ctx.beginPath();
      ctx.arc(px(p.x), py(p.y), LINE_WIDTH * 1.2, 0, Math.PI * 2);
      ctx.fill();
    }
  });
}

function drawMarker(
  ctx: SKRSContext2D,
  marker: Exclude<ChartSeries['marker'], 'none' | undefined>,
  x: number,
  y: number,
  color: string,
): void {
  const r = 3.5;
  ctx.beginPath();
  switch (marker) {
    case 'circle':
      ctx.arc(x, y, r, 0, Math.PI * 2);
      break;
    case 'square':
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
      break;
  }
  ctx.fillStyle = color;
  ctx.fill();
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  ctx.strokeStyle = '#ffffff';
  ctx.stroke();
}

function drawLegend(
  ctx: SKRSContext2D,
  series: readonly ChartSeries[],
  plot: Region,
  points: readonly [number, number][],
): void {
  ctx.save();
  ctx.font = font(11);
  const rowHeight = 17;
  const swatch = 28;
  const width = Math.min(
    Math.max(...series.map((s) => ctx.measureText(s.label).width)) + swatch + 22,
    plot.width - 8,
  );
  const height = series.length * rowHeight + 10;
  const inset = 8;
  const corners: Region[] = [
    { x: plot.x + plot.width - width - inset, y: plot.y + inset, width, height }, // top right
    { x: plot.x + plot.width - width - inset, y: plot.y + plot.height - height - inset, width, height },
    { x: plot.x + inset, y: plot.y + inset, width, height },
    { x: plot.x + inset, y: plot.y + plot.height - height - inset, width, height },
  ];
  const box = leastCrowded(corners, points);

  ctx.fillStyle = 'rgba(255,255,255,0.88)';
  ctx.strokeStyle = '#cccccc';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.rect(Math.round(box.x) + 0.5, Math.round(box.y) + 0.5, Math.round(box.width), Math.round(box.height));
  ctx.fill();
  ctx.stroke();
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  series.forEach((s, i) => {
    const y = box.y + 5 + rowHeight * i + rowHeight / 2;
    const x = box.x + 8;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = LINE_WIDTH;
    ctx.setLineDash(dashOf(s.line ?? 'solid'));
    line(ctx, x, y, x + swatch, y);
    ctx.setLineDash([]);
    const marker = s.marker ?? 'circle';
    if (marker !== 'none') drawMarker(ctx, marker, x + swatch / 2, y, s.color);
    ctx.fillStyle = '#222222';
    ctx.fillText(s.label, x + swatch + 6, y, box.width - swatch - 18);
  });
  ctx.restore();
}

/** The box that hides the fewest data points (ties go to the first, top-right). */
function leastCrowded(boxes: readonly Region[], points: readonly [number, number][]): Region {
  let best = boxes[0]!;
  let bestCount = Infinity;
  for (const box of boxes) {
    const count = points.filter(
      ([x, y]) => x >= box.x - 6 && x <= box.x + box.width + 6 && y >= box.y - 6 && y <= box.y + box.height + 6,
    ).length;
    if (count < bestCount) {
      best = box;
      bestCount = count;
    }
  }
  return best;
}


function dashOf(style: 'solid' | 'dashed'): number[] {
  return style === 'dashed' ? [7, 5] : [];
}

function line(ctx: SKRSContext2D, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}
