import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createCanvas, loadImage } from '@napi-rs/canvas';

import { renderCurves } from '../../job/artifacts/curves-png.js';
import { renderHistoryCsv } from '../../job/artifacts/history-csv.js';
import type { EpochRecord } from '../../job/shared/metrics.js';
import { captionOf, renderSamplesGrid } from '../../job/artifacts/samples-png.js';

interface Decoded {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

async function decode(png: Buffer): Promise<Decoded> {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG signature');
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, data: ctx.getImageData(0, 0, image.width, image.height).data };
}

/** Pixels within a small distance of an RGB colour. */
function countColor({ data }: Decoded, [r, g, b]: readonly [number, number, number], tolerance = 24): number {
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) <= tolerance) count++;
  }
  return count;
}

function pixel({ data, width }: Decoded, x: number, y: number): number[] {
  const i = (y * width + x) * 4;
  return [...data.subarray(i, i + 4)];
}

const BLUE = [0x1f, 0x77, 0xb4] as const;
const ORANGE = [0xff, 0x7f, 0x0e] as const;

function history(epochs: number, offset: number): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    loss: 1 - i * 0.05 + offset,
    accuracy: 0.6 + i * 0.03 - offset,
    valLoss: 0.8 - i * 0.04 + offset,
    valAccuracy: 0.65 + i * 0.025 - offset,
    seconds: 10 + i,
  }));
}

describe('curves.png', () => {
  test('two panels, both arms drawn in their colours on a white background', async () => {
    const png = await decode(renderCurves({ mixup: history(5, 0.02), baseline: history(5, 0) }));
    assert.equal(png.width, 2240);
    assert.equal(png.height, 800);
    assert.deepEqual(pixel(png, 2, 2), [255, 255, 255, 255]);
    assert.ok(countColor(png, BLUE) > 2000, 'mixup curves');
    assert.ok(countColor(png, ORANGE) > 2000, 'baseline curves');
    // Each panel has its own curves: both halves carry both colours.
    const left = { ...png, data: png.data.slice(0, png.data.length) };
    for (let y = 0; y < png.height; y++) left.data.fill(255, (y * png.width + png.width / 2) * 4, (y + 1) * png.width * 4);
    assert.ok(countColor(left, BLUE) > 500 && countColor(left, ORANGE) > 500, 'the accuracy panel');
  });

  test('an arm that did not run leaves no trace of its colour', async () => {
    const png = await decode(renderCurves({ baseline: history(3, 0) }));
    assert.ok(countColor(png, ORANGE) > 500);
    assert.equal(countColor(png, BLUE, 12), 0);
  });

  test('a single epoch still shows its points', async () => {
    const png = await decode(renderCurves({ mixup: history(1, 0) }));
    assert.ok(countColor(png, BLUE) > 100);
  });

  test('no history at all renders empty axes rather than failing', async () => {
    const png = await decode(renderCurves({}));
    assert.equal(png.width, 2240);
  });
});

describe('samples.png', () => {
  const white = new Float32Array(784).fill(1);
  const black = new Float32Array(784);
  const grey = new Float32Array(784).fill(0.5);

  test('a 3×3 grid of upscaled images with a title', async () => {
    const samples = Array.from({ length: 9 }, (_, i) => ({ pixels: [white, black, grey][i % 3]!, classA: i, classB: 9 - i, lamA: 0.72 }));
    const png = await decode(renderSamplesGrid(samples));
    assert.equal(png.width, 1612);
    assert.equal(png.height, 1182);
    // First cell: white image at (14 + 55, 44) logical, scale 2; second cell: black; third: grey.
    assert.deepEqual(pixel(png, (14 + 55 + 70) * 2, (44 + 70) * 2), [255, 255, 255, 255]);
    assert.deepEqual(pixel(png, (14 + 264 + 55 + 70) * 2, (44 + 70) * 2), [0, 0, 0, 255]);
    assert.deepEqual(pixel(png, (14 + 528 + 55 + 70) * 2, (44 + 70) * 2), [128, 128, 128, 255]);
    // Title and captions: dark text pixels above and below the images.
    const title = { ...png, data: png.data.slice(0, 44 * 2 * png.width * 4) };
    assert.ok(countColor(title, [0x22, 0x22, 0x22], 60) > 500, 'the title is drawn');
  });

  test('each image is a 5× nearest-neighbour copy of its 28×28 pixels', async () => {
    const checker = Float32Array.from({ length: 784 }, (_, i) => ((Math.floor(i / 28) + (i % 28)) % 2 ? 1 : 0));
    const png = await decode(renderSamplesGrid([{ pixels: checker, classA: 7, classB: 2, lamA: 0.5 }]));
    const x0 = (14 + 55) * 2;
    const y0 = 44 * 2;
    for (const [row, col] of [[0, 0], [0, 1], [5, 9], [27, 27]] as const) {
      const expected = checker[row * 28 + col]! * 255;
      // The centre of each 10×10 device-pixel block.
      assert.equal(pixel(png, x0 + col * 10 + 5, y0 + row * 10 + 5)[0], expected, `pixel ${row},${col}`);
    }
  });

  test('fewer than nine samples give fewer rows', async () => {
    const png = await decode(renderSamplesGrid([{ pixels: grey, classA: 0, classB: 1, lamA: 1 }]));
    assert.equal(png.width, 1612);
    assert.ok(png.height < 500);
  });

  test('captions name both classes, the larger weight first', () => {
    assert.equal(captionOf({ classA: 7, classB: 2, lamA: 0.72 }), 'Sneaker 0.72 / Pullover 0.28');
    assert.equal(captionOf({ classA: 7, classB: 2, lamA: 0.28 }), 'Pullover 0.72 / Sneaker 0.28');
    assert.equal(captionOf({ classA: 0, classB: 9, lamA: 1 }), 'T-shirt/top 1.00 / Ankle boot 0.00');
  });

  test('an image left as it is (the baseline) is captioned with its class alone', () => {
    assert.equal(captionOf({ classA: 7, classB: 7, lamA: 1 }), 'Sneaker');
  });

  test('a pasted region is outlined in red, where the box says, and only then', async () => {
    const red = [0xe8, 0x43, 0x2e] as const;
    const plain = await decode(renderSamplesGrid([{ pixels: grey, classA: 0, classB: 1, lamA: 0.75 }]));
    assert.equal(countColor(plain, red, 60), 0);
    const boxed = await decode(renderSamplesGrid([{ pixels: grey, classA: 0, classB: 1, lamA: 0.75, box: [7, 7, 14, 14] }]));
    assert.ok(countColor(boxed, red, 60) > 4 * 14 * 10, 'a 14-pixel box is outlined all round');
    // The outline's top-left corner: image at (14 + 55, 44) device pixels ×2, box from pixel 7, 5× zoom.
    const x0 = (14 + 55 + 7 * 5) * 2;
    const y0 = (44 + 7 * 5) * 2;
    const [r, g] = pixel(boxed, x0, y0);
    assert.ok(r! > 180 && g! < 120, `the corner pixel is red: ${r}, ${g}`);
  });

  test('an empty list, more than nine samples or a wrong image size are refused', () => {
    assert.throws(() => renderSamplesGrid([]), /needs 1 to 9 samples, got 0/);
    const one = { pixels: grey, classA: 0, classB: 1, lamA: 0.5 };
    assert.throws(() => renderSamplesGrid(new Array(10).fill(one)), /got 10/);
    assert.throws(() => renderSamplesGrid([{ ...one, pixels: new Float32Array(10) }]), /sample 0 has 10 pixels, expected 784/);
    assert.throws(() => captionOf({ classA: 10, classB: 1, lamA: 0.5 }), /class 10 is not a Fashion-MNIST class/);
  });
});

describe('history.csv', () => {
  test('a header and one row per arm and epoch, mixup first, numbers in full', () => {
    const csv = renderHistoryCsv({ baseline: history(1, 0), mixup: history(2, 0.1) });
    const lines = csv.split('\n');
    assert.equal(lines[0], 'arm,epoch,loss,accuracy,valLoss,valAccuracy,seconds');
    assert.equal(lines[1], 'mixup,1,1.1,0.5,0.9,0.55,10');
    assert.equal(lines[2], `mixup,2,${1 - 0.05 + 0.1},${0.6 + 0.03 - 0.1},${0.8 - 0.04 + 0.1},${0.65 + 0.025 - 0.1},11`);
    assert.equal(lines[3], 'baseline,1,1,0.6,0.8,0.65,10');
    assert.equal(lines.length, 5);
    assert.equal(lines[4], '', 'ends with a newline');
  });

  test('no arms give just the header', () => {
    assert.equal(renderHistoryCsv({}), 'arm,epoch,loss,accuracy,valLoss,valAccuracy,seconds\n');
  });
});
