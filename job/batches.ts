import type { ArmName } from './shared/metrics.js';
import { mixBatch, sampleLambda } from './mixup.js';
import { CLASS_COUNT as NUM_CLASSES, IMAGE_PIXELS as PIXELS } from './shared/fashion-mnist.js';
import { PIXEL_SCALE, type TrainSplit } from './data/splits.js';
import { batchCount, batchSlice, epochOrder } from './pairs.js';
import { rngFor } from './random.js';


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
  /** Mixup only: per-sample λ and the rows of both streams behind each sample. */
  readonly lam?: Float32Array;
  readonly rows?: readonly [Int32Array, Int32Array];
}

/**
 * The training batches of one epoch. The mixup arm zips two independently shuffled streams; the
 * baseline reads the first of them, so that at α = 0 both arms see exactly the same batches and
 * every paired comparison shares its randomness (common random numbers).
 */
export class EpochBatches {
  readonly steps: number;
  private readonly one: Int32Array;
  private readonly two: Int32Array | null;
  private readonly buffers;

  constructor(
    private readonly train: TrainSplit,
    arm: ArmName,
    private readonly alpha: number,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly epoch: number,
  ) {
    this.steps = batchCount(train.count, batchSize);
    this.one = epochOrder(train.count, batchSize, seed, 'one', epoch);
    this.two = arm === 'mixup' ? epochOrder(train.count, batchSize, seed, 'two', epoch) : null;
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
    if (!this.two) return { x: x1, y: y1, size };
    const rows2 = batchSlice(this.two, this.batchSize, step);
    const x2 = gatherImages(this.train.pixels, rows2, b.x2.subarray(0, size * PIXELS));
    const y2 = gatherOneHot(this.train.labels, rows2, b.y2.subarray(0, size * NUM_CLASSES));
    const lam = sampleLambda(this.alpha, size, rngFor(this.seed, 'lambda', this.epoch, step));
    const out = { x: b.mixed.x.subarray(0, size * PIXELS), y: b.mixed.y.subarray(0, size * NUM_CLASSES) };
    mixBatch(x1, y1, x2, y2, lam, out);
    return { ...out, size, lam, rows: [rows1, rows2] };
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
