/**
 * An augmentation: what the augmented arm of a run does to its training batches. A run trains two arms
 * from the same initial weights on the same two independently shuffled streams of images; each arm is
 * an augmentation with its parameters: the baseline is `none`, the other arm is the run's `--method`.
 *
 * Each augmentation is one file in job/augmentations/ (named as the augmentation) whose default export
 * is an `Augmentation`; the registry (job/augmentation-registry.ts) finds them there, so adding one is
 * that file and its tests. An augmentation is pure arithmetic on Float32Arrays: seeded draws come in
 * through `random`, never from a global generator, so a resumed run draws what an uninterrupted one did.
 */
import type { z } from 'zod';

import type { Rng } from './random.js';

/** Images are rows of `rows × cols × channels` floats, row-major, channels last. */
export interface ImageShape {
  readonly rows: number;
  readonly cols: number;
  readonly channels: number;
}

/** A batch: `size` images and `size` label rows (one-hot on the way in). */
export interface LabelledBatch {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly size: number;
}

/** A combined batch. */
export interface Combined {
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** Per sample, λ: the weight of the first batch's label in the result (1: the first sample unchanged). */
  readonly lam: Float32Array;
  /**
   * Per sample, `[left, top, width, height]` (4 integers) of the region whose pixels come from the second
   * image, for an augmentation that pastes a region (the sample grid outlines it); absent otherwise.
   */
  readonly boxes?: Int32Array;
}

/**
 * Seeded draws for one training step: `random('lambda')` is the same stream for every arm and method of
 * the run at this epoch and step (run seed, purpose, epoch, step), so methods that draw λ the same way
 * see the same λ (common random numbers).
 */
export type StepRandom = (purpose: string) => Rng;

export interface Augmentation<P extends object = object> {
  /** Its name on the command line, in run ids and in metrics.json; the same as its file's name. */
  readonly name: string;
  /** As people write it: 'MixUp', 'CutMix'. */
  readonly title: string;
  /** The title of the sample grid (samples.png) that shows its batches. */
  readonly samplesTitle: string;
  /** Its colour in every picture (plots, curves). */
  readonly color: string;
  /** Its parameters, read from the run's settings (an object schema keeps the keys it names). */
  readonly params: z.ZodType<P>;
  /** Whether it reads a second batch; `false` (the baseline): the second stream is never drawn. */
  readonly pairs: boolean;
  /**
   * The batch the arm trains on, from `one` and (when `pairs`) `two` of the same size. Writes into `out`
   * (the caller reuses its buffers) or returns `one` itself when it leaves it unchanged.
   */
  combine(
    one: LabelledBatch,
    two: LabelledBatch,
    params: P,
    random: StepRandom,
    shape: ImageShape,
    out: { readonly x: Float32Array; readonly y: Float32Array },
  ): Combined;
}
