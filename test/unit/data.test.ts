import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { JobError, NotFoundError, UsageError } from '../../job/errors.js';
import { CLASS_NAMES } from '../../job/shared/fashion-mnist.js';
import { FILES, STANDARD_COUNTS, loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { IMAGES_MAGIC } from '../../job/data/idx.js';
import { SHA256SUMS_NAME, formatSha256Sums, parseSha256Sums, sha256Hex } from '../../job/data/sha256sums.js';
import { openDataSource } from '../../job/data/source.js';
import { oneHot, prepareSplits } from '../../job/data/splits.js';
import { makeSplit, writeFakeFashionMnist } from '../support/fake-dataset.js';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const hasRealTestSet = existsSync(path.join(SYSTEM_DIR, FILES.testImages)) && existsSync(path.join(SYSTEM_DIR, FILES.testLabels));

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'data-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fakeDir(name: string, train = 60, test = 20): Promise<string> {
  const dir = path.join(root, name);
  await writeFakeFashionMnist(dir, { train, test, seed: 3 });
  return dir;
}

const load = (dir: string) => loadFashionMnist(openDataSource(dir, {}));

describe('loadFashionMnist', () => {
  test('loads a small dataset: counts, pixels and labels as in the files', async () => {
    const dir = await fakeDir('ok');
    const data = await load(dir);
    assert.equal(data.train.count, 60);
    assert.equal(data.test.count, 20);
    assert.equal(data.train.images.length, 60 * 784);
    assert.equal(data.standard, false);
    assert.equal(data.sha256sums, false);
    const labels = gunzipSync(await readFile(path.join(dir, FILES.trainLabels))).subarray(8);
    assert.deepEqual(Buffer.from(data.train.labels), labels);
    assert.ok(data.loadSeconds > 0 && data.loadSeconds < 5);
  });

  test('a missing file is a NotFoundError naming its full path', async () => {
    const dir = await fakeDir('missing');
    await rm(path.join(dir, FILES.testLabels));
    await assert.rejects(load(dir), (error: unknown) => error instanceof NotFoundError && error.message === `not found: ${path.join(dir, FILES.testLabels)}`);
  });

  test('with every file missing, the error names the first in file order, whichever read fails first', async () => {
    // The later a file comes, the sooner its read fails: an error taken in time order would name the last.
    const order: string[] = Object.values(FILES);
    const source = {
      location: 's3://bucket/none',
      read: (name: string) =>
        new Promise<Buffer>((_resolve, reject) =>
          setTimeout(() => reject(new NotFoundError(`s3://bucket/none/${name}`)), 10 * (order.length - order.indexOf(name))),
        ),
    };
    await assert.rejects(loadFashionMnist(source), (error: unknown) => error instanceof NotFoundError && error.message === `not found: s3://bucket/none/${FILES.trainImages}`);
  });

  test('train images and labels of different counts are refused, naming both files', async () => {
    const dir = await fakeDir('mismatch');
    const [, labels] = makeSplit(59);
    await writeFile(path.join(dir, FILES.trainLabels), gzipSync(labels));
    await assert.rejects(load(dir), /mismatch between .*train-images-idx3-ubyte\.gz \(60 images\) and .*train-labels-idx1-ubyte\.gz \(59 labels\)/);
  });

  test('the images and labels files swapped is named as a mislabelled file', async () => {
    const dir = await fakeDir('swapped');
    await copyFile(path.join(dir, FILES.testLabels), path.join(dir, FILES.testImages));
    await assert.rejects(load(dir), /t10k-images-idx3-ubyte\.gz: magic number 2049, expected 2051.*labels file in the place of the images file/);
  });

  test('a wrong magic number in a file large enough to pass the header\'s implied length is reported as a wrong magic number, not a bomb', async () => {
    const dir = await fakeDir('magic', 2000, 20);
    const images = gunzipSync(await readFile(path.join(dir, FILES.trainImages)));
    for (const magic of [2049, 2052]) {
      images.writeUInt32BE(magic, 0);
      await writeFile(path.join(dir, FILES.trainImages), gzipSync(images, { level: 1 }));
      await assert.rejects(load(dir), (error: unknown) =>
        error instanceof JobError && error.message.startsWith(`${path.join(dir, FILES.trainImages)}: magic number ${magic}, expected 2051 (IDX images)`) &&
        !/bomb/.test(error.message));
    }
  });

  test('a training set of the standard test size and a test set of the standard training size are refused as swapped', async () => {
    const idx = (magic: number, count: number, item: number) => {
      const header = magic === IMAGES_MAGIC ? [magic, count, 28, 28] : [magic, count];
      const body = Buffer.alloc(4 * header.length + count * item);
      header.forEach((word, i) => body.writeUInt32BE(word, 4 * i));
      return body;
    };
    const files: Record<string, Buffer> = {
      [FILES.trainImages]: idx(IMAGES_MAGIC, 10_000, 784),
      [FILES.trainLabels]: idx(2049, 10_000, 1),
      [FILES.testImages]: idx(IMAGES_MAGIC, 60_000, 784),
      [FILES.testLabels]: idx(2049, 60_000, 1),
    };
    const source = {
      location: 'memory://swapped',
      read: async (name: string) => {
        if (!files[name]) throw new NotFoundError(`memory://swapped/${name}`);
        return files[name];
      },
    };
    await assert.rejects(loadFashionMnist(source), /train-images-idx3-ubyte\.gz holds 10000 images and .*t10k-images-idx3-ubyte\.gz 60000: the sizes of the standard test and training sets, swapped/);
  });

  test('a truncated gz file is refused, naming the file', async () => {
    const dir = await fakeDir('truncated');
    const body = await readFile(path.join(dir, FILES.trainImages));
    await writeFile(path.join(dir, FILES.trainImages), body.subarray(0, body.length - 500));
    await assert.rejects(load(dir), /train-images-idx3-ubyte\.gz: corrupt or truncated gzip/);
  });

  test('a file with the standard count but other contents fails with "wrong checksum"', async () => {
    const dir = await fakeDir('forged');
    // 10,000 blank images claim to be the standard test set.
    const forged = Buffer.alloc(16 + STANDARD_COUNTS.testImages * 784);
    forged.writeUInt32BE(IMAGES_MAGIC, 0);
    forged.writeUInt32BE(STANDARD_COUNTS.testImages, 4);
    forged.writeUInt32BE(28, 8);
    forged.writeUInt32BE(28, 12);
    await writeFile(path.join(dir, FILES.testImages), gzipSync(forged, { level: 1 }));
    const [, labels] = makeSplit(STANDARD_COUNTS.testLabels);
    await writeFile(path.join(dir, FILES.testLabels), gzipSync(labels));
    await assert.rejects(load(dir), (error: unknown) => error instanceof JobError && /wrong checksum: .*t10k-(images|labels)-idx[13]-ubyte\.gz has the standard Fashion-MNIST size \(10000 samples\)/.test(error.message) && /refusing to train/.test(error.message));
  });

  test('the real test set passes the published checksums, recompressed or not', { skip: !hasRealTestSet && 'dataset-fashion-mnist is not installed' }, async () => {
    const dir = await fakeDir('real-test');
    await copyFile(path.join(SYSTEM_DIR, FILES.testImages), path.join(dir, FILES.testImages));
    // Recompressed at another level: different .gz bytes, same contents; the check is on the contents.
    const labels = gunzipSync(await readFile(path.join(SYSTEM_DIR, FILES.testLabels)));
    await writeFile(path.join(dir, FILES.testLabels), gzipSync(labels, { level: 1 }));
    const data = await load(dir);
    assert.equal(data.test.count, 10_000);
    assert.equal(data.standard, false, 'the fake training files are not the standard set');
    // The real set: 1,000 test images per class.
    const perClass = new Array(10).fill(0);
    for (const label of data.test.labels) perClass[label]++;
    assert.deepEqual(perClass, new Array(10).fill(1000));
  });

  test('one changed label in the real test set fails with "wrong checksum"', { skip: !hasRealTestSet && 'dataset-fashion-mnist is not installed' }, async () => {
    const dir = await fakeDir('real-tampered');
    await copyFile(path.join(SYSTEM_DIR, FILES.testImages), path.join(dir, FILES.testImages));
    const labels = gunzipSync(await readFile(path.join(SYSTEM_DIR, FILES.testLabels)));
    labels[8 + 1234] = (labels[8 + 1234]! + 1) % 10;
    await writeFile(path.join(dir, FILES.testLabels), gzipSync(labels));
    await assert.rejects(load(dir), /wrong checksum: .*t10k-labels-idx1-ubyte\.gz has the standard Fashion-MNIST size \(10000 samples\) but its contents' SHA-256 is [0-9a-f]{64}, expected 0402a96d/);
  });
});

// The real training files: 60,000 images and labels. .ci/run installs dataset-fashion-mnist, so in CI
// these run (and a skip fails the run); `sha256sum` of the decompressed files gives the same digests.
const hasRealSet = hasRealTestSet && existsSync(path.join(SYSTEM_DIR, FILES.trainImages)) && existsSync(path.join(SYSTEM_DIR, FILES.trainLabels));
const skipReal = !hasRealSet && 'dataset-fashion-mnist is not installed';
const PUBLISHED_SHA256 = {
  [FILES.trainImages]: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  [FILES.trainLabels]: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  [FILES.testImages]: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  [FILES.testLabels]: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
};

describe('the real Fashion-MNIST training files', () => {
  test('the Debian copy is the published set: all four contents hash to the published SHA-256', { skip: skipReal }, async () => {
    for (const [name, expected] of Object.entries(PUBLISHED_SHA256)) {
      const digest = createHash('sha256').update(gunzipSync(await readFile(path.join(SYSTEM_DIR, name)))).digest('hex');
      assert.equal(digest, expected, name);
    }
  });

  test('the full set loads as the standard one: both training hashes and both test hashes match', { skip: skipReal }, async () => {
    const data = await load(SYSTEM_DIR);
    assert.equal(data.standard, true);
    assert.equal(data.train.count, 60_000);
    assert.equal(data.test.count, 10_000);
  });

  test('the training and test files swapped are refused by their checksums, naming both roles', { skip: skipReal }, async () => {
    const dir = path.join(root, 'real-swapped');
    await fakeDir('real-swapped');
    const swap: [string, string][] = [[FILES.trainImages, FILES.testImages], [FILES.trainLabels, FILES.testLabels]];
    for (const [a, b] of swap) {
      await copyFile(path.join(SYSTEM_DIR, a), path.join(dir, b));
      await copyFile(path.join(SYSTEM_DIR, b), path.join(dir, a));
    }
    await assert.rejects(load(dir), (error: unknown) =>
      error instanceof JobError &&
      error.message === `${path.join(dir, FILES.trainImages)} is the standard test images file (by its SHA-256), in the place of the training images; are the files swapped?`);
  });

  test('one changed training label fails with "wrong checksum" naming the training labels', { skip: skipReal }, async () => {
    const dir = await fakeDir('real-train-labels');
    for (const name of [FILES.trainImages, FILES.testImages, FILES.testLabels]) await copyFile(path.join(SYSTEM_DIR, name), path.join(dir, name));
    const labels = gunzipSync(await readFile(path.join(SYSTEM_DIR, FILES.trainLabels)));
    labels[8 + 31_337] = (labels[8 + 31_337]! + 1) % 10;
    await writeFile(path.join(dir, FILES.trainLabels), gzipSync(labels, { level: 1 }));
    await assert.rejects(load(dir), /wrong checksum: .*train-labels-idx1-ubyte\.gz has the standard Fashion-MNIST size \(60000 samples\) but its contents' SHA-256 is [0-9a-f]{64}, expected bad3541b/);
  });

  test('one changed training pixel fails with "wrong checksum" naming the training images', { skip: skipReal }, async () => {
    const dir = await fakeDir('real-train-images');
    for (const name of [FILES.trainLabels, FILES.testImages, FILES.testLabels]) await copyFile(path.join(SYSTEM_DIR, name), path.join(dir, name));
    const images = gunzipSync(await readFile(path.join(SYSTEM_DIR, FILES.trainImages)));
    images[16 + 784 * 1234 + 400] ^= 1;
    await writeFile(path.join(dir, FILES.trainImages), gzipSync(images, { level: 1 }));
    await assert.rejects(load(dir), /wrong checksum: .*train-images-idx3-ubyte\.gz has the standard Fashion-MNIST size \(60000 samples\) but its contents' SHA-256 is [0-9a-f]{64}, expected c59f468a/);
  });
});

describe('SHA256SUMS', () => {
  async function sumsFor(dir: string): Promise<Record<string, string>> {
    const sums: Record<string, string> = {};
    for (const name of Object.values(FILES)) sums[name] = sha256Hex(await readFile(path.join(dir, name)));
    return sums;
  }

  test('matching sums load and are reported as checked', async () => {
    const dir = await fakeDir('sums-ok');
    await writeFile(path.join(dir, SHA256SUMS_NAME), formatSha256Sums(await sumsFor(dir)));
    assert.equal((await load(dir)).sha256sums, true);
  });

  test('a file that differs from its SHA256SUMS line fails with "wrong checksum"', async () => {
    const dir = await fakeDir('sums-bad');
    const sums = await sumsFor(dir);
    await writeFakeFashionMnist(dir, { train: 60, test: 20, seed: 4 });
    sums[FILES.testImages] = sha256Hex(await readFile(path.join(dir, FILES.testImages)));
    await writeFile(path.join(dir, SHA256SUMS_NAME), formatSha256Sums(sums));
    await assert.rejects(load(dir), /wrong checksum: .*train-images-idx3-ubyte\.gz has SHA-256 [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}/);
  });

  test('a SHA256SUMS that leaves out one of the four files is refused', async () => {
    const dir = await fakeDir('sums-short');
    const sums = await sumsFor(dir);
    delete sums[FILES.trainLabels];
    await writeFile(path.join(dir, SHA256SUMS_NAME), formatSha256Sums(sums));
    await assert.rejects(load(dir), /SHA256SUMS does not list train-labels-idx1-ubyte\.gz/);
  });

  test('the format is sha256sum\'s: two spaces, sorted, binary-mode marker accepted', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    assert.equal(formatSha256Sums({ 'z.gz': a, 'b.gz': b }), `${'b'.repeat(64)}  b.gz\n${a}  z.gz\n`);
    assert.deepEqual(parseSha256Sums(`${a}  x y.gz\n${b} *bin.gz\n\n`, 'S'), new Map([['x y.gz', a], ['bin.gz', 'b'.repeat(64)]]));
    assert.throws(() => parseSha256Sums(`${a}  x.gz\nnot a line\n`, 'S'), /S: line 2 is not '<sha256 hex>  <file name>': "not a line"/);
  });
});

describe('prepareSplits', () => {
  const [trainImages, trainLabels] = makeSplit(50);
  const [testImages, testLabels] = makeSplit(12);
  const raw = {
    train: { images: trainImages.subarray(16), labels: trainLabels.subarray(8), count: 50 },
    test: { images: testImages.subarray(16), labels: testLabels.subarray(8), count: 12 },
  };

  test('validation is the FIRST valSamples training images, training the rest', () => {
    const { train, val, test: testSplit } = prepareSplits(raw, { valSamples: 10, trainLimit: null });
    assert.equal(val.count, 10);
    assert.equal(train.count, 40);
    assert.equal(testSplit.count, 12);
    assert.deepEqual(val.labels, raw.train.labels.slice(0, 10));
    assert.deepEqual(train.labels, raw.train.labels.slice(10));
    assert.deepEqual(train.pixels, raw.train.images.subarray(10 * 784));
  });

  test('shapes: x is N×784, y is N×10; training images stay bytes, N×784', () => {
    const { train, val, test: testSplit } = prepareSplits(raw, { valSamples: 10 });
    assert.equal(train.pixels.length, train.count * 784);
    assert.equal(train.labels.length, train.count);
    for (const split of [val, testSplit]) {
      assert.equal(split.x.length, split.count * 784);
      assert.equal(split.y.length, split.count * 10);
      assert.equal(split.labels.length, split.count);
      assert.ok(split.x instanceof Float32Array && split.y instanceof Float32Array);
    }
  });

  test('pixels are divided by 255 into [0, 1]', () => {
    const { test: testSplit } = prepareSplits(raw, { valSamples: 10 });
    for (let i = 0; i < testSplit.x.length; i++) {
      assert.equal(testSplit.x[i], Math.fround(raw.test.images[i]! / 255));
    }
    assert.ok(testSplit.x.every((v) => v >= 0 && v <= 1));
  });

  test('labels are one-hot: a single 1 at the class index', () => {
    const { val } = prepareSplits(raw, { valSamples: 10 });
    for (let i = 0; i < val.count; i++) {
      const row = Array.from(val.y.subarray(i * 10, i * 10 + 10));
      assert.equal(row.reduce((a, b) => a + b, 0), 1);
      assert.equal(row[val.labels[i]!], 1);
    }
    assert.deepEqual(Array.from(oneHot(Uint8Array.from([2, 0]), 3)), [0, 0, 1, 1, 0, 0]);
  });

  test('trainLimit takes the first N after the validation images', () => {
    const { train, val } = prepareSplits(raw, { valSamples: 10, trainLimit: 7 });
    assert.equal(val.count, 10);
    assert.equal(train.count, 7);
    assert.deepEqual(train.labels, raw.train.labels.slice(10, 17));
  });

  test('a trainLimit beyond the available images uses all of them', () => {
    assert.equal(prepareSplits(raw, { valSamples: 10, trainLimit: 1000 }).train.count, 40);
  });

  test('defaults follow the Keras example: 2000 validation images', () => {
    assert.throws(() => prepareSplits(raw), /--val-samples 2000 leaves no training images: the training file has 50; use fewer than 50/);
  });

  test('valSamples that leave no training data is a UsageError', () => {
    assert.throws(() => prepareSplits(raw, { valSamples: 50 }), (error: unknown) => error instanceof UsageError && /--val-samples 50 leaves no training images/.test(error.message));
  });

  test('bad valSamples and trainLimit values name the option and the rule', () => {
    assert.throws(() => prepareSplits(raw, { valSamples: -1 }), /--val-samples -1 must be a whole number ≥ 0/);
    assert.throws(() => prepareSplits(raw, { valSamples: 1.5 }), /--val-samples 1\.5 must be a whole number ≥ 0/);
    assert.throws(() => prepareSplits(raw, { valSamples: 10, trainLimit: 0 }), /--train-limit 0 must be a whole number ≥ 1/);
  });

  test('CLASS_NAMES are the ten Fashion-MNIST classes in label order', () => {
    assert.deepEqual([...CLASS_NAMES], ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });
});
