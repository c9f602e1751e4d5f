import type { Augmentation, ImageShape } from './augmentation.js';
import { augmentation, type ArmSpec } from './augmentation-registry.js';
import { CLASS_COUNT as NUM_CLASSES, IMAGE_COLS, IMAGE_PIXELS as PIXELS, IMAGE_ROWS } from './shared/fashion-mnist.js';
import { PIXEL_SCALE, type TrainSplit } from './data/splits.js';
import { batchCount, batchSlice, epochOrder } from './pairs.js';
import { rngFor } from './random.js';

/** Fashion-MNIST's images as the augmentations see them. */
export const IMAGE_SHAPE: ImageShape = { rows: IMAGE_ROWS, cols: IMAGE_COLS, channels: 1 };

/** Images as rows of 784 floats in [0, 1] and one-hot (or soft) labels as rows of 10. */
export interface LabelledImages {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly count: number;
}

export interface Batch {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly size: number;
  /** Per sample, the weight of its first-stream label (1 for the baseline). */
  readonly lam: Float32Array;
  /** Where an augmentation pasted a region of the second image (see `Combined`). */
  readonly boxes?: Int32Array;
  /** The rows of both streams behind each sample (the same rows twice for an augmentation that does not pair). */
  readonly rows: readonly [Int32Array, Int32Array];
}

/**
 * The training batches of one epoch for one arm. An augmentation that pairs zips two independently
 * shuffled streams; the baseline reads the first of them, so that at α = 0 both arms see exactly the
 * same batches and every paired comparison shares its randomness (common random numbers).
 */
export class EpochBatches {
  readonly steps: number;
  private readonly one: Int32Array;
  private readonly two: Int32Array | null;
  private readonly augmentation: Augmentation;
  private readonly params: object;
  private readonly buffers;

  constructor(
    private readonly train: TrainSplit,
    arm: Pick<ArmSpec, 'augmentation' | 'params'>,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly epoch: number,
  ) {
    this.augmentation = augmentation(arm.augmentation);
    this.params = arm.params;
    this.steps = batchCount(train.count, batchSize);
    this.one = epochOrder(train.count, batchSize, seed, 'one', epoch);
    this.two = this.augmentation.pairs ? epochOrder(train.count, batchSize, seed, 'two', epoch) : null;
    const rows = batchSize;
    this.buffers = {
      x1: new Float32Array(rows * PIXELS),
      y1: new Float32Array(rows * NUM_CLASSES),
      x2: new Float32Array(rows * PIXELS),
      y2: new Float32Array(rows * NUM_CLASSES),
      mixed: { x: new Float32Array(rows * PIXELS), y: new Float32Array(rows * NUM_CLASSES) },
    };
  }

  /** Batch `step` (0-based). Its arrays are reused by the next call. */
  batch(step: number): Batch {
    const rows1 = batchSlice(this.one, this.batchSize, step);
    const size = rows1.length;
    const b = this.buffers;
    const x1 = gatherImages(this.train.pixels, rows1, b.x1.subarray(0, size * PIXELS));
    const y1 = gatherOneHot(this.train.labels, rows1, b.y1.subarray(0, size * NUM_CLASSES));
    const one = { x: x1, y: y1, size };
    let two = one;
    let rows2 = rows1;
    if (this.two) {
      rows2 = batchSlice(this.two, this.batchSize, step);
      two = {
        x: gatherImages(this.train.pixels, rows2, b.x2.subarray(0, size * PIXELS)),
        y: gatherOneHot(this.train.labels, rows2, b.y2.subarray(0, size * NUM_CLASSES)),
        size,
      };
    }
    const out = { x: b.mixed.x.subarray(0, size * PIXELS), y: b.mixed.y.subarray(0, size * NUM_CLASSES) };
    const random = (purpose: string) => rngFor(this.seed, purpose, this.epoch, step);
    const combined = this.augmentation.combine(one, two, this.params, random, IMAGE_SHAPE, out);
    return { ...combined, size, rows: [rows1, rows2] };
  }
}

/** Rows `indices` of the training bytes, as pixels / 255. */
export function gatherImages(pixels: Uint8Array, indices: Int32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]! * PIXELS;
    const to = i * PIXELS;
    for (let j = 0; j < PIXELS; j++) out[to + j] = PIXEL_SCALE[pixels[from + j]!]!;
  }
  return out;
}

/** One-hot rows for the labels at `indices`. */
export function gatherOneHot(labels: Uint8Array, indices: Int32Array, out: Float32Array): Float32Array {
  out.fill(0);
  for (let i = 0; i < indices.length; i++) out[i * NUM_CLASSES + labels[indices[i]!]!] = 1;
  return out;
}

/** A contiguous slice of rows, for validation and test batches (not shuffled, as in Keras). */
export function sliceRows(data: LabelledImages, start: number, end: number): { x: Float32Array; y: Float32Array; size: number } {
  return {
    x: data.x.subarray(start * PIXELS, end * PIXELS),
    y: data.y.subarray(start * NUM_CLASSES, end * NUM_CLASSES),
    size: end - start,
  };
}
