/** The four standard Fashion-MNIST files: their names, sample counts and published checksums. */
import { IMAGES_MAGIC, LABELS_MAGIC } from './idx.js';

export const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export type FileRole = keyof typeof FILES;

/** Sample counts of the standard files; a header with these counts claims to be the standard set. */
export const STANDARD_COUNTS: Record<FileRole, number> = {
  trainImages: 60_000,
  trainLabels: 60_000,
  testImages: 10_000,
  testLabels: 10_000,
};

/**
 * SHA-256 of the standard files' DECOMPRESSED IDX bytes. Zalando publishes MD5s of its .gz files
 * (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…); Debian's dataset-fashion-mnist recompressed them, so its
 * .gz bytes differ while the IDX contents are identical (their MD5s, f4a8712d…, 9018921c…, 8181f547…,
 * 15d48437…, are the ones published for the uncompressed originals). Hashing the contents accepts both
 * copies and any honest recompression, and still rejects a single changed pixel or label.
 */
export const STANDARD_SHA256: Record<FileRole, string> = {
  trainImages: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  trainLabels: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  testImages: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  testLabels: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
};

/** The IDX magic number each file must start with. */
export const MAGIC_OF: Record<FileRole, number> = {
  trainImages: IMAGES_MAGIC,
  trainLabels: LABELS_MAGIC,
  testImages: IMAGES_MAGIC,
  testLabels: LABELS_MAGIC,
};
