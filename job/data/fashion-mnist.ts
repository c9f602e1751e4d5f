/**
 * Fashion-MNIST: the four standard files, their class names and checksums, and a loader that refuses
 * anything it cannot vouch for.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { JobError, NotFoundError } from '../errors.js';
import { checkSameCount, decompressIdx, parseIdxImages, parseIdxLabels } from './idx.js';
import { SHA256SUMS_NAME, parseSha256Sums, sha256Hex } from './sha256sums.js';
import { FILES, MAGIC_OF, STANDARD_COUNTS, STANDARD_SHA256, type FileRole } from './standard.js';
import type { DataSource, ReadOptions } from './source.js';

export { FILES, STANDARD_COUNTS, STANDARD_SHA256, type FileRole } from './standard.js';

export interface RawSplit {
  /** count × 784 pixels, 0–255. */
  readonly images: Uint8Array;
  /** count class indices, 0–9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface RawDataset {
  readonly train: RawSplit;
  readonly test: RawSplit;
  /** True when every file is the standard one (checksums matched). */
  readonly standard: boolean;
  /** True when a SHA256SUMS file was found next to the data and every file matched it. */
  readonly sha256sums: boolean;
  /** SHA-256 of each file's decompressed IDX contents: what the run trained on, whatever the packaging. */
  readonly contentSha256: Record<FileRole, string>;
  readonly loadSeconds: number;
}

/**
 * Reads, checks and parses the four files. Fails (JobError) on any structural problem, on a count
 * mismatch, when a file claiming the standard size does not match its published checksum, or when the
 * source's SHA256SUMS disagrees.
 */
export async function loadFashionMnist(source: DataSource, options: ReadOptions = {}): Promise<RawDataset> {
  const started = performance.now();
  const roles = Object.keys(FILES) as FileRole[];
  // Read in parallel, but fail on the first failure in file order, not the first in time: the same bad
  // source gives the same one-line error every run.
  const [sumsRead, ...bodiesRead] = await Promise.allSettled([readSums(source, options), ...roles.map((role) => source.read(FILES[role], options))]);
  const failed = [sumsRead, ...bodiesRead].find((r) => r.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  const sums = (sumsRead as PromiseFulfilledResult<Awaited<ReturnType<typeof readSums>>>).value;
  const bodies = bodiesRead.map((r) => (r as PromiseFulfilledResult<Buffer>).value);
  const raw = Object.fromEntries(roles.map((role, i) => [role, bodies[i]!])) as Record<FileRole, Buffer>;

  if (sums) {
    for (const role of roles) {
      const name = FILES[role];
      const expected = sums.get(name);
      if (!expected) throw new JobError(`${where(source, SHA256SUMS_NAME)} does not list ${name}`);
      const actual = sha256Hex(raw[role]);
      if (actual !== expected) {
        throw new JobError(
          `wrong checksum: ${where(source, name)} has SHA-256 ${actual}, ${SHA256SUMS_NAME} says ${expected}; ` +
            `refusing to train on data that differs from what was seeded`,
        );
      }
    }
  }

  const hashes = Object.fromEntries(roles.map((role) => [role, createHash('sha256')])) as Record<FileRole, Hash>;
  const idx = await Promise.all(
    roles.map((role) => decompressIdx(raw[role], where(source, FILES[role]), (chunk) => hashes[role].update(chunk), MAGIC_OF[role])),
  );
  const files = Object.fromEntries(roles.map((role, i) => [role, idx[i]!])) as Record<FileRole, Buffer>;
  const name = (role: FileRole) => where(source, FILES[role]);
  const trainImages = parseIdxImages(files.trainImages, name('trainImages'));
  const trainLabels = parseIdxLabels(files.trainLabels, name('trainLabels'));
  const testImages = parseIdxImages(files.testImages, name('testImages'));
  const testLabels = parseIdxLabels(files.testLabels, name('testLabels'));
  checkSameCount(trainImages, name('trainImages'), trainLabels, name('trainLabels'));
  checkSameCount(testImages, name('testImages'), testLabels, name('testLabels'));

  const counts: Record<FileRole, number> = {
    trainImages: trainImages.count,
    trainLabels: trainLabels.count,
    testImages: testImages.count,
    testLabels: testLabels.count,
  };
  const contentSha256 = Object.fromEntries(roles.map((role) => [role, hashes[role].digest('hex')])) as Record<FileRole, string>;
  checkNotSwapped(counts, contentSha256, name);
  let standard = true;
  for (const role of roles) {
    if (counts[role] !== STANDARD_COUNTS[role]) {
      standard = false;
      continue;
    }
    const actual = contentSha256[role];
    if (actual !== STANDARD_SHA256[role]) {
      throw new JobError(
        `wrong checksum: ${name(role)} has the standard Fashion-MNIST size (${counts[role]} samples) but its ` +
          `contents' SHA-256 is ${actual}, expected ${STANDARD_SHA256[role]}; refusing to train on modified data`,
      );
    }
  }

  return {
    train: { images: trainImages.images, labels: trainLabels.labels, count: trainImages.count },
    test: { images: testImages.images, labels: testLabels.labels, count: testImages.count },
    standard,
    sha256sums: sums !== undefined,
    contentSha256,
    loadSeconds: (performance.now() - started) / 1000,
  };
}

const ROLE_NAMES: Record<FileRole, string> = {
  trainImages: 'training images', trainLabels: 'training labels', testImages: 'test images', testLabels: 'test labels',
};

/**
 * Training and test files in each other's places would train on the 10,000 test images and report
 * accuracy on the training set, and every check above passes: a standard file is known by its
 * contents' SHA-256, and a split of the standard sizes swapped (10,000 to train, 60,000 to test) by those.
 */
function checkNotSwapped(counts: Record<FileRole, number>, sha256: Record<FileRole, string>, name: (role: FileRole) => string): void {
  const roles = Object.keys(FILES) as FileRole[];
  for (const role of roles) {
    const other = roles.find((candidate) => candidate !== role && STANDARD_SHA256[candidate] === sha256[role]);
    if (other) {
      throw new JobError(`${name(role)} is the standard ${ROLE_NAMES[other]} file (by its SHA-256), in the place of the ${ROLE_NAMES[role]}; are the files swapped?`);
    }
  }
  if (counts.trainImages === STANDARD_COUNTS.testImages && counts.testImages === STANDARD_COUNTS.trainImages) {
    throw new JobError(
      `${name('trainImages')} holds ${counts.trainImages} images and ${name('testImages')} ${counts.testImages}: ` +
        `the sizes of the standard test and training sets, swapped; refusing to train on the test set`,
    );
  }
}

async function readSums(source: DataSource, options: ReadOptions): Promise<Map<string, string> | undefined> {
  try {
    return parseSha256Sums((await source.read(SHA256SUMS_NAME, options)).toString('utf8'), where(source, SHA256SUMS_NAME));
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

function where(source: DataSource, name: string): string {
  if (source.describe) return source.describe(name);
  return `${source.location.replace(/\/+$/, '')}/${name}`;
}
