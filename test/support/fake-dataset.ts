/**
 * Small, valid, learnable Fashion-MNIST look-alikes for tests: real IDX headers, gzip, 28×28 images.
 * Each class draws a bright 8×8 block at its own place on a 4×3 grid, plus noise, so a small CNN
 * rises well above chance within an epoch or two while every file still parses like the real one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

const IMAGE_MAGIC = 2051;
const LABEL_MAGIC = 2049;
const SIDE = 28;
const CLASSES = 10;
const BLOCK = 8;

export interface FakeDatasetOptions {
  /** Training images (the real set has 60,000). @default 600 */
  readonly train?: number;
  /** Test images (the real set has 10,000). @default 200 */
  readonly test?: number;
  /** Same seed, same bytes. @default 1 */
  readonly seed?: number;
}

/** Writes the four gz files into `dir` (created when missing) and returns their paths by role. */
export async function writeFakeFashionMnist(
  dir: string,
  options: FakeDatasetOptions = {},
): Promise<Record<keyof typeof FASHION_MNIST_FILES, string>> {
  const train = options.train ?? 600;
  const test = options.test ?? 200;
  const random = mulberry32(options.seed ?? 1);
  await mkdir(dir, { recursive: true });
  const [trainImages, trainLabels] = makeSplit(train, random);
  const [testImages, testLabels] = makeSplit(test, random);
  const bodies = { trainImages, trainLabels, testImages, testLabels };
  const paths = {} as Record<keyof typeof FASHION_MNIST_FILES, string>;
  for (const role of Object.keys(FASHION_MNIST_FILES) as (keyof typeof FASHION_MNIST_FILES)[]) {
    paths[role] = path.join(dir, FASHION_MNIST_FILES[role]);
    await writeFile(paths[role], gzipSync(bodies[role]));
  }
  return paths;
}

/** Raw (un-gzipped) IDX image and label files for `count` samples, classes balanced and shuffled. */
export function makeSplit(count: number, random: () => number = mulberry32(1)): [Buffer, Buffer] {
  const images = Buffer.alloc(16 + count * SIDE * SIDE);
  images.writeUInt32BE(IMAGE_MAGIC, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(SIDE, 8);
  images.writeUInt32BE(SIDE, 12);
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(LABEL_MAGIC, 0);
  labels.writeUInt32BE(count, 4);
  // Balanced then shuffled: a random class per sample would leave small sets lopsided.
  const order = Array.from({ length: count }, (_, i) => i % CLASSES);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < count; i++) {
    labels[8 + i] = order[i]!;
    drawImage(images, 16 + i * SIDE * SIDE, order[i]!, random);
  }
  return [images, labels];
}

function drawImage(target: Buffer, offset: number, label: number, random: () => number): void {
  const top = 2 + Math.floor(label / 4) * BLOCK + Math.floor(random() * 2);
  const left = 1 + (label % 4) * 6 + Math.floor(random() * 2);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const inside = y >= top && y < top + BLOCK && x >= left && x < left + BLOCK;
      const value = inside ? 180 + random() * 75 : random() * 60;
      target[offset + y * SIDE + x] = Math.floor(value);
    }
  }
}

/** A tiny seeded PRNG; tests need reproducible bytes, not statistical quality. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
