/**
 * From raw bytes to what the model eats: the Keras example's split (the FIRST `valSamples` training
 * images validate, the rest train), pixels / 255 as float32, and one-hot labels (mixup needs soft labels,
 * so labels leave here already as vectors).
 */
import { UsageError } from '../errors.js';
import { CLASS_COUNT, DEFAULT_VAL_SAMPLES, IMAGE_PIXELS } from '../shared/fashion-mnist.js';
import type { RawDataset, RawSplit } from './fashion-mnist.js';

export interface Split {
  /** count × 784 pixels in [0, 1]. */
  readonly x: Float32Array;
  /** count × 10 one-hot rows. */
  readonly y: Float32Array;
  /** count class indices, 0–9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

/**
 * The training images stay bytes: batches are normalised as they are gathered (the same table, so the
 * same floats), which spares a 180 MB float copy and most of the load time.
 */
export interface TrainSplit {
  /** count × 784 pixels, 0–255. */
  readonly pixels: Uint8Array;
  /** count class indices, 0–9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface Splits {
  readonly train: TrainSplit;
  readonly val: Split;
  readonly test: Split;
}

export interface SplitOptions {
  /** The first this-many training images form the validation set. @default 2000 */
  readonly valSamples?: number;
  /** Train on at most the first this-many of the remaining images. @default null (all of them) */
  readonly trainLimit?: number | null;
}


/** pixel / 255 for every byte value: one division per value, not per pixel. */
export const PIXEL_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

export function prepareSplits(raw: Pick<RawDataset, 'train' | 'test'>, options: SplitOptions = {}): Splits {
  const valSamples = options.valSamples ?? DEFAULT_VAL_SAMPLES;
  const trainLimit = options.trainLimit ?? null;
  if (!Number.isInteger(valSamples) || valSamples < 0) {
    throw new UsageError(`--val-samples ${valSamples} must be a whole number ≥ 0`);
  }
  if (trainLimit !== null && (!Number.isInteger(trainLimit) || trainLimit < 1)) {
    throw new UsageError(`--train-limit ${trainLimit} must be a whole number ≥ 1`);
  }
  if (valSamples >= raw.train.count) {
    throw new UsageError(
      `--val-samples ${valSamples} leaves no training images: the training file has ${raw.train.count}; ` +
        `use fewer than ${raw.train.count}`,
    );
  }
  const available = raw.train.count - valSamples;
  const trainCount = trainLimit === null ? available : Math.min(trainLimit, available);
  return {
    val: toSplit(raw.train, 0, valSamples),
    train: {
      pixels: raw.train.images.subarray(valSamples * IMAGE_PIXELS, (valSamples + trainCount) * IMAGE_PIXELS),
      labels: raw.train.labels.slice(valSamples, valSamples + trainCount),
      count: trainCount,
    },
    test: toSplit(raw.test, 0, raw.test.count),
  };
}

/** `count` samples of `raw` starting at `start`, normalised and one-hot encoded. */
export function toSplit(raw: RawSplit, start: number, count: number): Split {
  const pixels = raw.images.subarray(start * IMAGE_PIXELS, (start + count) * IMAGE_PIXELS);
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = PIXEL_SCALE[pixels[i]!]!;
  // A copy, not a view: the split must not keep the whole decompressed file alive.
  const labels = raw.labels.slice(start, start + count);
  return { x, y: oneHot(labels), labels, count };
}

export function oneHot(labels: Uint8Array, classes = CLASS_COUNT): Float32Array {
  const y = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) y[i * classes + labels[i]!] = 1;
  return y;
}
