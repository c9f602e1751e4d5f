import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { JobError } from '../../job/errors.js';
import {
  IMAGES_MAGIC,
  LABELS_MAGIC,
  checkSameCount,
  decompressIdx,
  parseIdxImages,
  parseIdxLabels,
} from '../../job/data/idx.js';
import { makeSplit } from '../support/fake-dataset.js';

const [images, labels] = makeSplit(20);

describe('IDX parsing', () => {
  test('a well-formed images file gives count × 784 pixels, byte for byte', () => {
    const parsed = parseIdxImages(images, 'img');
    assert.equal(parsed.count, 20);
    assert.equal(parsed.images.length, 20 * 784);
    assert.deepEqual(Buffer.from(parsed.images), images.subarray(16));
  });

  test('a well-formed labels file gives one class per sample', () => {
    const parsed = parseIdxLabels(labels, 'lbl');
    assert.equal(parsed.count, 20);
    assert.deepEqual(Buffer.from(parsed.labels), labels.subarray(8));
    assert.ok(parsed.labels.every((label) => label < 10));
  });

  test('gzip is decompressed and raw IDX passes through unchanged', async () => {
    assert.deepEqual(await decompressIdx(gzipSync(images), 'img.gz'), images);
    assert.equal(await decompressIdx(images, 'img'), images);
  });

  test('the decompressed bytes are streamed to the observer in order', async () => {
    const seen: Buffer[] = [];
    await decompressIdx(gzipSync(images), 'img.gz', (chunk) => seen.push(chunk));
    assert.deepEqual(Buffer.concat(seen), images);
  });

  test('a labels file in the place of the images file is named as such', () => {
    assert.throws(
      () => parseIdxImages(labels, 'train-images.gz'),
      (error: unknown) =>
        error instanceof JobError &&
        error.message.includes('train-images.gz') &&
        error.message.includes(`magic number ${LABELS_MAGIC}, expected ${IMAGES_MAGIC}`) &&
        /labels file in the place of the images file/.test(error.message),
    );
    assert.throws(() => parseIdxLabels(images, 'lbl'), /lbl: magic number 2051, expected 2049.*images file/);
  });

  test('a file that is not IDX at all has a bad magic number', () => {
    assert.throws(() => parseIdxImages(Buffer.from('<html>not found</html>'), 'x'), /x: magic number \d+, expected 2051 \(IDX images\); not an IDX file/);
  });

  test('a truncated images file names both lengths', () => {
    const cut = images.subarray(0, images.length - 100);
    assert.throws(
      () => parseIdxImages(cut, 'img'),
      new RegExp(`img: truncated: 20 images of 28×28 need ${images.length} bytes, the file has ${cut.length}`),
    );
  });

  test('a truncated header is an error, not a crash', () => {
    assert.throws(() => parseIdxImages(images.subarray(0, 10), 'img'), /img: truncated IDX header/);
    assert.throws(() => parseIdxLabels(Buffer.alloc(0), 'lbl'), /lbl: truncated IDX header/);
  });

  test('trailing bytes are refused', () => {
    assert.throws(
      () => parseIdxLabels(Buffer.concat([labels, Buffer.from([1, 2, 3])]), 'lbl'),
      /lbl: 3 trailing bytes: 20 labels need 28 bytes, the file has 31/,
    );
    assert.throws(() => parseIdxImages(Buffer.concat([images, Buffer.alloc(1)]), 'img'), /img: 1 trailing bytes/);
  });

  test('images that are not 28×28 are refused', () => {
    const wide = Buffer.from(images);
    wide.writeUInt32BE(32, 12);
    assert.throws(() => parseIdxImages(wide, 'img'), /img: images are 28×32, expected 28×28/);
  });

  test('an empty dataset is refused', () => {
    const empty = Buffer.alloc(16);
    empty.writeUInt32BE(IMAGES_MAGIC, 0);
    empty.writeUInt32BE(28, 8);
    empty.writeUInt32BE(28, 12);
    assert.throws(() => parseIdxImages(empty, 'img'), /img: the header says 0 images/);
  });

  test('a label outside 0–9 is refused with its index', () => {
    const bad = Buffer.from(labels);
    bad[8 + 5] = 12;
    assert.throws(() => parseIdxLabels(bad, 'lbl'), /lbl: label 12 at index 5 is not a class \(0–9\)/);
  });

  test('corrupt gzip data is a JobError naming the file', async () => {
    const gz = gzipSync(images);
    const middle = Math.floor(gz.length / 2);
    gz[middle] ^= 0xff;
    gz[middle + 1] ^= 0xff;
    await assert.rejects(decompressIdx(gz, 'img.gz'), (error: unknown) => error instanceof JobError && /img\.gz: corrupt or truncated gzip/.test(error.message));
  });

  test('truncated gzip data is a JobError naming the file', async () => {
    const gz = gzipSync(images);
    await assert.rejects(decompressIdx(gz.subarray(0, gz.length - 40), 'img.gz'), /img\.gz: corrupt or truncated gzip/);
  });

  test('images and labels of different counts name both files and both numbers', () => {
    const [moreImages] = makeSplit(21);
    assert.throws(
      () => checkSameCount(parseIdxImages(moreImages, 'a.gz'), 'a.gz', parseIdxLabels(labels, 'b.gz'), 'b.gz'),
      /mismatch between a\.gz \(21 images\) and b\.gz \(20 labels\)/,
    );
  });
});

describe('a decompression bomb', () => {
  test('decompression stops soon after the length the IDX header implies', async () => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(2049, 0);
    header.writeUInt32BE(10, 4);
    // 10 labels claimed, 300 MB of zeros behind them: about 300 KB compressed.
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(300 * 1024 * 1024)]), { level: 9 });
    const before = process.memoryUsage().rss;
    await assert.rejects(decompressIdx(bomb, 'bomb.gz'), /^JobError: bomb\.gz: decompresses to more than the 18 bytes its IDX header implies; corrupt, or a decompression bomb$/);
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024, 'did not inflate the whole bomb');
  });
});
