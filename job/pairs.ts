import { rngFor } from './random.js';

/** Keras example: `Dataset.shuffle(BATCH_SIZE * 100)`, i.e. a 6,400-element shuffle buffer. */
export const SHUFFLE_BUFFER_BATCHES = 100;

/**
 * The order in which `tf.data.Dataset.shuffle(bufferSize)` emits 0…n−1: fill a buffer, then
 * repeatedly emit a random slot and refill it with the next element. Kept faithful rather than a
 * full permutation because the buffer is part of the experiment being reproduced.
 */
export function bufferedShuffle(n: number, bufferSize: number, next: (k: number) => number): Int32Array {
  const order = new Int32Array(n);
  const size = Math.min(bufferSize, n);
  const buffer = new Int32Array(size);
  for (let i = 0; i < size; i++) buffer[i] = i;
  let filled = size;
  let incoming = size;
  for (let out = 0; out < n; out++) {
    const slot = next(filled);
    order[out] = buffer[slot]!;
    if (incoming < n) {
      buffer[slot] = incoming++;
    } else {
      buffer[slot] = buffer[--filled]!;
    }
  }
  return order;
}

export type Stream = 'one' | 'two' | 'baseline';

/** The epoch's order for one stream; streams and epochs are independent draws of the run seed. */
export function epochOrder(
  count: number,
  batchSize: number,
  seed: number,
  stream: Stream,
  epoch: number,
): Int32Array {
  const rng = rngFor(seed, 'shuffle', stream, epoch);
  return bufferedShuffle(count, batchSize * SHUFFLE_BUFFER_BATCHES, (k) => rng.int(k));
}

export function batchCount(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/** Indices of batch `step`; the last batch keeps the remainder, as `Dataset.batch` does. */
export function batchSlice(order: Int32Array, batchSize: number, step: number): Int32Array {
  return order.subarray(step * batchSize, Math.min(order.length, (step + 1) * batchSize));
}
