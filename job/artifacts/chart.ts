/**
 * A small line-chart renderer on @napi-rs/canvas: series of (x, y) points with optional error bars or
 * bands, nice axis ticks, labels, a title and a legend. `drawChart` paints into a region of any canvas
 * (so panels can be composed); `renderChart` returns one chart as a PNG.
 */
import { createRequire } from 'node:module';

import { GlobalFonts, createCanvas } from '@napi-rs/canvas';
import type { SKRSContext2D } from '@napi-rs/canvas';

/** The bundled font family every picture uses, so no system fonts are needed (containers have none). */
export const FONT_FAMILY = 'MixupDejaVuSans';
const FONT_FAMILY_BOLD = 'MixupDejaVuSansBold';

/** Tableau 10: distinct, colour-blind friendly enough, and familiar from matplotlib. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
] as const;

const DEFAULT_WIDTH = 800;
const DEFAULT_HEIGHT = 500;
const DEFAULT_SCALE = 2;
const DEFAULT_TICK_COUNT = 6;

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
  /** @default - the next PALETTE colour */
  readonly color?: string;
  /** @default 'solid' */
  readonly line?: 'solid' | 'dashed' | 'dotted' | 'none';
  /** @default 'circle' */
  readonly marker?: 'circle' | 'square' | 'triangle' | 'diamond' | 'none';
  /** How yLow/yHigh are shown. @default 'bars' */
  readonly errors?: 'bars' | 'band';
  /** @default 2 */
  readonly lineWidth?: number;
}

export type LegendPlace = 'auto' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'none';

export interface ChartOptions {
  readonly series: readonly ChartSeries[];
  /** @default - no title */
  readonly title?: string;
  /** @default - no label */
  readonly xLabel?: string;
  /** @default - no label */
  readonly yLabel?: string;
  /** Fixed x range. @default - the data's range, widened to nice ticks */
  readonly xDomain?: readonly [number, number];
  /** Fixed y range. @default - the data's range (with error bars), widened to nice ticks */
  readonly yDomain?: readonly [number, number];
  /** Explicit x tick positions (e.g. the α values of a sweep). @default - nice numbers */
  readonly xTicks?: readonly number[];
  /** Only whole-number x ticks (epochs). @default false */
  readonly integerX?: boolean;
  /** @default - as many decimals as the tick step needs */
  readonly xTickFormat?: (value: number) => string;
  /** @default - as many decimals as the tick step needs */
  readonly yTickFormat?: (value: number) => string;
  /** @default 'auto' (the corner that covers the fewest points) */
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

let fontsReady = false;

/** Registers the bundled DejaVu fonts once per process. */
export function ensureFonts(): void {
  if (fontsReady) return;
  const require = createRequire(import.meta.url);
  const regular = GlobalFonts.registerFromPath(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), FONT_FAMILY);
  const bold = GlobalFonts.registerFromPath(
    require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
    FONT_FAMILY_BOLD,
  );
  if (!regular || !bold) throw new Error('could not register the DejaVu fonts from dejavu-fonts-ttf');
  fontsReady = true;
}

/** A CSS font string in the bundled family. */
export function font(sizePx: number, bold = false): string {
  ensureFonts();
  return `${sizePx}px ${bold ? FONT_FAMILY_BOLD : FONT_FAMILY}`;
}

/** Renders one chart as a PNG. */
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

/** White background; PNGs are transparent otherwise and look broken in dark viewers. */
export function fillBackground(ctx: SKRSContext2D, width: number, height: number): void {
  ctx.save();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.restore();
}

/** Draws a chart into `region` of `ctx` (logical coordinates). */
export function drawChart(ctx: SKRSContext2D, region: Region, options: ChartOptions): void {
  ctx.save();
  const series = options.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite);
  const ys = series
    .flatMap((s) => s.points.flatMap((p) => [p.y, p.yLow ?? p.y, p.yHigh ?? p.y]))
    .filter(Number.isFinite);

  const xScale = options.xTicks?.length
    ? explicitAxis(options.xTicks, options.xDomain ?? extent(xs.concat(options.xTicks)))
    : niceAxis(options.xDomain ?? extent(xs), DEFAULT_TICK_COUNT, options.integerX ?? false, !options.xDomain);
  const yScale = niceAxis(options.yDomain ?? extent(ys), DEFAULT_TICK_COUNT, false, !options.yDomain);
  // Explicit ticks (sweep α values) can be uneven, so each shows its own shortest form.
  const xFormat =
    options.xTickFormat ?? (options.xTicks?.length ? (v: number) => String(Number(v.toPrecision(6))) : stepFormat(xScale.step));
  const yFormat = options.yTickFormat ?? stepFormat(yScale.step);

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

  // Data, clipped to the plot so a fixed domain cannot spill lines over the labels.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x - 6, plot.y - 6, plot.width + 12, plot.height + 12);
  ctx.clip();
  for (const s of series) drawSeries(ctx, s, s.color, px, py);
  ctx.restore();

  const place = options.legend ?? 'auto';
  if (place !== 'none' && series.length > 0) {
    const points = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)).map((p) => [px(p.x), py(p.y)]));
    drawLegend(ctx, series, plot, place, points as [number, number][]);
  }
  ctx.restore();
}

function drawSeries(
  ctx: SKRSContext2D,
  s: ChartSeries,
  color: string,
  px: (x: number) => number,
  py: (y: number) => number,
): void {
  const points = s.points.filter((p) => Number.isFinite(p.x));
  const withErrors = points.filter((p) => Number.isFinite(p.yLow) && Number.isFinite(p.yHigh));
  ctx.strokeStyle = color;
  ctx.fillStyle = color;

  if (withErrors.length > 0 && s.errors === 'band') {
    ctx.save();
    ctx.globalAlpha = 0.18;
    ctx.beginPath();
    withErrors.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p.x), py(p.yHigh!)) : ctx.lineTo(px(p.x), py(p.yHigh!))));
    for (const p of [...withErrors].reverse()) ctx.lineTo(px(p.x), py(p.yLow!));
    ctx.closePath();
    ctx.fill();
    ctx.restore();
  } else if (withErrors.length > 0) {
    ctx.lineWidth = 1.2;
    ctx.setLineDash([]);
    for (const p of withErrors) {
      const x = px(p.x);
      line(ctx, x, py(p.yLow!), x, py(p.yHigh!));
      line(ctx, x - 4, py(p.yLow!), x + 4, py(p.yLow!));
      line(ctx, x - 4, py(p.yHigh!), x + 4, py(p.yHigh!));
    }
  }

  const style = s.line ?? 'solid';
  if (style !== 'none') {
    ctx.lineWidth = s.lineWidth ?? 2;
    ctx.lineJoin = 'round';
    ctx.setLineDash(dashOf(style));
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
  }

  const marker = s.marker ?? 'circle';
  points.forEach((p, i) => {
    if (!Number.isFinite(p.y)) return;
    if (marker !== 'none') {
      drawMarker(ctx, marker, px(p.x), py(p.y), color);
    } else if (!Number.isFinite(points[i - 1]?.y) && !Number.isFinite(points[i + 1]?.y)) {
      // A point with no neighbour draws no line segment; without this dot it would not show at all.
      ctx.beginPath();
      ctx.arc(px(p.x), py(p.y), (s.lineWidth ?? 2) * 1.2, 0, Math.PI * 2);
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
    case 'triangle':
      ctx.moveTo(x, y - r * 1.2);
      ctx.lineTo(x + r * 1.1, y + r * 0.8);
      ctx.lineTo(x - r * 1.1, y + r * 0.8);
      ctx.closePath();
      break;
    case 'diamond':
      ctx.moveTo(x, y - r * 1.3);
      ctx.lineTo(x + r * 1.1, y);
      ctx.lineTo(x, y + r * 1.3);
      ctx.lineTo(x - r * 1.1, y);
      ctx.closePath();
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
  series: readonly (ChartSeries & { color: string })[],
  plot: Region,
  place: Exclude<LegendPlace, 'none'>,
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
  const corners: Record<Exclude<LegendPlace, 'none' | 'auto'>, Region> = {
    'top-right': { x: plot.x + plot.width - width - inset, y: plot.y + inset, width, height },
    'bottom-right': { x: plot.x + plot.width - width - inset, y: plot.y + plot.height - height - inset, width, height },
    'top-left': { x: plot.x + inset, y: plot.y + inset, width, height },
    'bottom-left': { x: plot.x + inset, y: plot.y + plot.height - height - inset, width, height },
  };
  const box = place === 'auto' ? leastCrowded(Object.values(corners), points) : corners[place];

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
    ctx.lineWidth = s.lineWidth ?? 2;
    const style = s.line ?? 'solid';
    if (style !== 'none') {
      ctx.setLineDash(dashOf(style));
      line(ctx, x, y, x + swatch, y);
      ctx.setLineDash([]);
    }
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

export interface Axis {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/**
 * Tick positions at 1, 2 or 5 × 10^k (Heckbert's "nice numbers"). With `snap`, the range widens to whole
 * steps so the data never touches an unlabelled edge; a fixed domain is kept as given.
 */
export function niceAxis(
  [lo, hi]: readonly [number, number],
  count = DEFAULT_TICK_COUNT,
  integer = false,
  snap = true,
): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    // One value (a single epoch, a flat line): centre it in a small range instead of dividing by zero.
    const pad = integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  if (snap && !integer) {
    // A little headroom, so a point at the extreme is not drawn on the axis line or the plot's edge.
    const pad = (hi - lo) * 0.04;
    [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceNumber(niceNumber(hi - lo, false) / Math.max(count - 1, 1), true);
  if (integer) step = Math.max(1, Math.round(step));
  const min = snap ? round12(Math.floor(lo / step + 1e-9) * step) : lo;
  const max = snap ? round12(Math.ceil(hi / step - 1e-9) * step) : hi;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(round12(t));
  }
  return { min, max, step, ticks };
}

/** Drops binary floating-point noise (0.30000000000000004) from computed tick values. */
function round12(value: number): number {
  return Number(value.toPrecision(12));
}

function explicitAxis(ticks: readonly number[], [lo, hi]: readonly [number, number]): Axis {
  const sorted = [...ticks].sort((a, b) => a - b);
  const span = hi - lo || Math.abs(lo) || 1;
  // A little room at both ends so the first and last markers are not cut in half by the axis.
  const min = lo - span * 0.05;
  const max = hi + span * 0.05;
  const gaps = sorted.slice(1).map((t, i) => t - sorted[i]!);
  return { min, max, step: gaps.length ? Math.min(...gaps) : span, ticks: sorted };
}

function niceNumber(range: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(range));
  const fraction = range / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

/** Formats ticks with just enough decimals for the step (0.05 → 2 decimals, 5 → none). */
export function stepFormat(step: number): (value: number) => string {
  const decimals = step > 0 && Number.isFinite(step) ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))) : 2;
  return (value) => {
    const text = value.toFixed(decimals);
    return Number(text) === 0 ? text.replace(/^-/, '') : text;
  };
}

function extent(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function dashOf(style: 'solid' | 'dashed' | 'dotted'): number[] {
  return style === 'dashed' ? [7, 5] : style === 'dotted' ? [2, 4] : [];
}

function line(ctx: SKRSContext2D, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}
