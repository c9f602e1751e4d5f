import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createCanvas, loadImage } from '@napi-rs/canvas';

import { niceAxis, stepFormat } from '../../job/artifacts/chart-axis.js';
import { drawChart, renderChart } from '../../job/artifacts/chart.js';

async function pixels(png: Buffer): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  canvas.getContext('2d').drawImage(image, 0, 0);
  return { width: image.width, height: image.height, data: canvas.getContext('2d').getImageData(0, 0, image.width, image.height).data };
}

function count({ data }: { data: Uint8ClampedArray }, rgb: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) < 20) n++;
  }
  return n;
}

describe('nice axis ticks', () => {
  test('ticks fall on 1, 2 or 5 × 10^k and cover the data', () => {
    const axis = niceAxis([0.8312, 0.8791]);
    assert.deepEqual(axis, { min: 0.82, max: 0.9, step: 0.02, ticks: [0.82, 0.84, 0.86, 0.88, 0.9] });
    for (const [lo, hi] of [[0, 87.3], [-3, 1234], [1e-4, 3e-4]] as const) {
      const { step, ticks, min, max } = niceAxis([lo, hi]);
      const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6));
      assert.ok([1, 2, 5].includes(mantissa), `step ${step}`);
      assert.ok(min <= lo && max >= hi && ticks.length >= 3 && ticks.length <= 11, `${lo}..${hi}`);
    }
  });

  test('integer axes (epochs) step by whole numbers', () => {
    assert.deepEqual(niceAxis([1, 3], 6, true).ticks, [1, 2, 3]);
    assert.ok(niceAxis([1, 50], 6, true).ticks.every(Number.isInteger));
  });

  test('a single value gets a range around it instead of dividing by zero', () => {
    const axis = niceAxis([0.5, 0.5]);
    assert.ok(axis.min < 0.5 && axis.max > 0.5 && axis.ticks.length >= 2);
    assert.ok(niceAxis([0, 0]).ticks.length >= 2);
  });

  test('tick labels carry just the decimals the step needs', () => {
    assert.equal(stepFormat(0.05)(0.85), '0.85');
    assert.equal(stepFormat(5)(10), '10');
    assert.equal(stepFormat(0.1)(-0.00001), '0.0');
  });
});

describe('renderChart', () => {
  const series = [
    { label: 'mixup', color: '#1f77b4', points: [0, 0.1, 0.2, 0.4].map((x, i) => ({ x, y: 86 + i * 0.3, yLow: 85.7 + i * 0.3, yHigh: 86.3 + i * 0.3 })) },
    { label: 'baseline', color: '#ff7f0e', line: 'dashed' as const, marker: 'square' as const, points: [0, 0.1, 0.2, 0.4].map((x) => ({ x, y: 87, yLow: 86.8, yHigh: 87.2 })) },
  ];

  test('draws every series in its colour, at the requested size and density', async () => {
    const png = await pixels(renderChart({ title: 'α sweep', xLabel: 'α', yLabel: 'test accuracy (%)', xTicks: [0, 0.1, 0.2, 0.4], series }, { width: 400, height: 300, scale: 2 }));
    assert.equal(png.width, 800);
    assert.equal(png.height, 600);
    assert.ok(count(png, [0x1f, 0x77, 0xb4]) > 300);
    assert.ok(count(png, [0xff, 0x7f, 0x0e]) > 300);
    assert.ok(count(png, [255, 255, 255]) > png.width * png.height * 0.5, 'mostly background');
  });

  test('a non-finite y breaks the line instead of throwing', async () => {
    const png = await pixels(renderChart({ series: [{ label: 'gap', color: '#2ca02c', points: [{ x: 1, y: 1 }, { x: 2, y: Number.NaN }, { x: 3, y: 2 }] }] }, { width: 200, height: 150, scale: 1 }));
    assert.ok(count(png, [0x2c, 0xa0, 0x2c]) > 10);
  });

  test('draws into a region, leaving the rest of the canvas alone', () => {
    const canvas = createCanvas(400, 200);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#000000';
    ctx.fillRect(0, 0, 400, 200);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(200, 0, 200, 200);
    drawChart(ctx, { x: 200, y: 0, width: 200, height: 200 }, { series, legend: 'none' });
    const left = ctx.getImageData(0, 0, 200, 200).data;
    assert.ok(left.every((v, i) => (i % 4 === 3 ? v === 255 : v === 0)), 'the left half is untouched');
    const right = { data: ctx.getImageData(200, 0, 200, 200).data };
    assert.ok(count(right, [0x1f, 0x77, 0xb4]) > 50);
  });
});
