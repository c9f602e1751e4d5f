/**
 * `samples.png`: a 3×3 grid of the augmented arm's training images, each captioned with its two classes
 * and their weights, and the region taken from image B outlined where the augmentation pastes one.
 */
import { createCanvas } from '@napi-rs/canvas';

import { CLASS_NAMES, IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS } from '../shared/fashion-mnist.js';
import { fillBackground, font } from './canvas.js';

export interface MixedSample {
  /** 784 values in [0, 1]. */
  readonly pixels: Float32Array;
  readonly classA: number;
  readonly classB: number;
  /** The weight of classA (λ); classB gets 1 − λ. */
  readonly lamA: number;
  /** `[left, top, width, height]` in pixels of the region that comes from image B, when there is one. */
  readonly box?: readonly [number, number, number, number];
}

/** The outline of a pasted region: a colour no greyscale pixel has. */
const BOX_COLOR = '#e8432e';

export const GRID_SIDE = 3;
/** Nearest-neighbour upscaling: pixels stay square, so the picture shows exactly what the model sees. */
const ZOOM = 5;
const CELL_WIDTH = 250;
const IMAGE_SIZE = IMAGE_ROWS * ZOOM;
const CAPTION_HEIGHT = 26;
const GAP = 14;
const TITLE_HEIGHT = 44;
const SCALE = 2;

export function renderSamplesGrid(
  samples: readonly MixedSample[],
  title = 'MixUp training samples (λ·image A + (1 − λ)·image B)',
): Buffer {
  if (samples.length === 0 || samples.length > GRID_SIDE * GRID_SIDE) {
    throw new RangeError(`renderSamplesGrid needs 1 to ${GRID_SIDE * GRID_SIDE} samples, got ${samples.length}`);
  }
  const width = GRID_SIDE * CELL_WIDTH + (GRID_SIDE + 1) * GAP;
  const rows = Math.ceil(samples.length / GRID_SIDE);
  const height = TITLE_HEIGHT + rows * (IMAGE_SIZE + CAPTION_HEIGHT + GAP) + GAP / 2;
  const canvas = createCanvas(width * SCALE, height * SCALE);
  const ctx = canvas.getContext('2d');
  ctx.scale(SCALE, SCALE);
  fillBackground(ctx, width, height);

  ctx.fillStyle = '#222222';
  ctx.font = font(17, true);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(title, width / 2, TITLE_HEIGHT / 2 + 2, width - 2 * GAP);

  samples.forEach((sample, i) => {
    if (sample.pixels.length !== IMAGE_PIXELS) {
      throw new RangeError(`sample ${i} has ${sample.pixels.length} pixels, expected ${IMAGE_PIXELS}`);
    }
    const cellX = GAP + (i % GRID_SIDE) * (CELL_WIDTH + GAP);
    const cellY = TITLE_HEIGHT + Math.floor(i / GRID_SIDE) * (IMAGE_SIZE + CAPTION_HEIGHT + GAP);
    const imageX = cellX + (CELL_WIDTH - IMAGE_SIZE) / 2;
    drawPixels(ctx, sample.pixels, imageX, cellY);
    if (sample.box && sample.box[2] > 0 && sample.box[3] > 0) {
      const [left, top, boxWidth, boxHeight] = sample.box;
      ctx.strokeStyle = BOX_COLOR;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(imageX + left * ZOOM, cellY + top * ZOOM, boxWidth * ZOOM, boxHeight * ZOOM);
    }

    ctx.fillStyle = '#222222';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const caption = captionOf(sample);
    // Shrink rather than clip: "T-shirt/top 0.50 / Ankle boot 0.50" is the longest caption.
    let size = 13;
    ctx.font = font(size);
    while (size > 9 && ctx.measureText(caption).width > CELL_WIDTH - 4) ctx.font = font(--size);
    ctx.fillText(caption, cellX + CELL_WIDTH / 2, cellY + IMAGE_SIZE + CAPTION_HEIGHT / 2 + 1);
  });
  return canvas.toBuffer('image/png');
}

/** "Sneaker 0.72 / Pullover 0.28": class names, the larger weight first; an image left as it is, its class alone. */
export function captionOf(sample: Pick<MixedSample, 'classA' | 'classB' | 'lamA'>): string {
  if (sample.lamA === 1 && sample.classA === sample.classB) return className(sample.classA);
  const a = { name: className(sample.classA), weight: sample.lamA };
  const b = { name: className(sample.classB), weight: 1 - sample.lamA };
  const [first, second] = a.weight >= b.weight ? [a, b] : [b, a];
  return `${first.name} ${first.weight.toFixed(2)} / ${second.name} ${second.weight.toFixed(2)}`;
}

function className(index: number): string {
  const name = CLASS_NAMES[index];
  if (name === undefined) throw new RangeError(`class ${index} is not a Fashion-MNIST class (0–${CLASS_NAMES.length - 1})`);
  return name;
}

function drawPixels(
  ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>,
  pixels: Float32Array,
  x: number,
  y: number,
): void {
  for (let row = 0; row < IMAGE_ROWS; row++) {
    for (let col = 0; col < IMAGE_COLS; col++) {
      const grey = Math.round(Math.min(1, Math.max(0, pixels[row * IMAGE_COLS + col]!)) * 255);
      ctx.fillStyle = `rgb(${grey},${grey},${grey})`;
      ctx.fillRect(x + col * ZOOM, y + row * ZOOM, ZOOM, ZOOM);
    }
  }
  ctx.strokeStyle = '#bbbbbb';
  ctx.lineWidth = 1;
  ctx.strokeRect(x - 0.5, y - 0.5, IMAGE_SIZE + 1, IMAGE_SIZE + 1);
}
