/**
 * Strict IDX parsing (the MNIST file format): magic number, dimensions and exact length are all checked,
 * so a corrupt, truncated or mislabelled file is an error naming the file, never a partial dataset.
 */
import { createGunzip } from 'node:zlib';

import { JobError } from '../errors.js';
import { CLASS_COUNT, IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS } from '../shared/fashion-mnist.js';

/** 0x00000803: unsigned bytes, 3 dimensions (count × rows × cols). */
export const IMAGES_MAGIC = 2051;
/** 0x00000801: unsigned bytes, 1 dimension (count). */
export const LABELS_MAGIC = 2049;
export const IMAGES_HEADER_BYTES = 16;
export const LABELS_HEADER_BYTES = 8;

const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** Large output chunks: fewer thread-pool round trips than zlib's 16 KiB default (47 MB per file here). */
const GUNZIP_CHUNK_BYTES = 1 << 20;

export interface IdxImages {
  /** count × 28 × 28 pixels, row-major, 0–255. */
  readonly images: Uint8Array;
  readonly count: number;
}

export interface IdxLabels {
  /** count class indices, 0–9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === GZIP_MAGIC[0] && body[1] === GZIP_MAGIC[1];
}

/**
 * The IDX bytes of a file: gunzipped when it is gzip, as-is when it is already raw IDX. `onChunk` sees the
 * decompressed bytes as they arrive, so a checksum of the contents overlaps with decompression (which runs
 * on the thread pool) instead of adding a second pass.
 */
export function decompressIdx(
  body: Buffer,
  name: string,
  onChunk?: (chunk: Buffer) => void,
  expectedMagic?: number,
): Promise<Buffer> {
  if (!isGzip(body)) {
    onChunk?.(body);
    return Promise.resolve(body);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let limit: number | null = null;
    let done = false;
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    const finish = () => {
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    gunzip.on('data', (chunk: Buffer) => {
      if (done) return;
      chunks.push(chunk);
      onChunk?.(chunk);
      total += chunk.length;
      limit ??= idxLength(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      // Decompression stops soon after the length the header implies (a little trailing data is left
      // for the parser's exact message): a 2 MB file that inflates to gigabytes is never held whole.
      if (limit !== null && total > limit + TRAILING_SLACK_BYTES) {
        gunzip.destroy();
        // A header that is not this file's (an edited or swapped magic) implies a length that means
        // nothing: what has come so far is enough for the parser to name the wrong magic number.
        const magic = chunks[0]!.readUInt32BE(0);
        if (limit === 0 || magic !== (expectedMagic ?? magic) || (magic !== IMAGES_MAGIC && magic !== LABELS_MAGIC)) return finish();
        reject(new JobError(`${name}: decompresses to more than the ${limit} bytes its IDX header implies; corrupt, or a decompression bomb`));
        done = true;
      }
    });
    gunzip.on('end', () => {
      if (!done) finish();
    });
    gunzip.on('error', (error) => {
      if (done) return;
      done = true;
      reject(new JobError(`${name}: corrupt or truncated gzip data (${error.message})`, { cause: error }));
    });
    gunzip.end(body);
  });
}

const TRAILING_SLACK_BYTES = 1 << 20;

/** Anything larger is refused before it is decompressed (the standard training images are 47 MB). */
export const MAX_IDX_BYTES = 1 << 30;

/**
 * The whole length an IDX file's header implies (header + every element), once enough bytes are in to
 * read it; 0 when the start is not an unsigned-byte IDX header (the parser names the problem), null
 * while the header is incomplete. Capped at MAX_IDX_BYTES.
 */
export function idxLength(start: Buffer): number | null {
  if (start.length < 4) return null;
  const magic = start.readUInt32BE(0);
  const dims = magic & 0xff;
  if (magic >>> 8 !== 0x08 || dims < 1 || dims > 4) return 0;
  const header = 4 + 4 * dims;
  if (start.length < header) return null;
  let elements = 1;
  for (let i = 0; i < dims; i++) elements *= start.readUInt32BE(4 + 4 * i);
  return Math.min(header + elements, MAX_IDX_BYTES);
}

/** Parses an (uncompressed) IDX images file of 28×28 unsigned-byte images. */
export function parseIdxImages(idx: Buffer, name: string): IdxImages {
  const magic = readHeaderWord(idx, 0, name);
  if (magic !== IMAGES_MAGIC) throw wrongMagic(name, magic, IMAGES_MAGIC, 'images');
  const count = readHeaderWord(idx, 4, name);
  const rows = readHeaderWord(idx, 8, name);
  const cols = readHeaderWord(idx, 12, name);
  if (rows !== IMAGE_ROWS || cols !== IMAGE_COLS) {
    throw new JobError(`${name}: images are ${rows}×${cols}, expected ${IMAGE_ROWS}×${IMAGE_COLS}`);
  }
  if (count === 0) throw new JobError(`${name}: the header says 0 images; the file holds no data`);
  checkLength(idx, name, IMAGES_HEADER_BYTES + count * IMAGE_PIXELS, `${count} images of ${rows}×${cols}`);
  return { images: idx.subarray(IMAGES_HEADER_BYTES), count };
}

/** Parses an (uncompressed) IDX labels file whose labels are classes 0–9. */
export function parseIdxLabels(idx: Buffer, name: string): IdxLabels {
  const magic = readHeaderWord(idx, 0, name);
  if (magic !== LABELS_MAGIC) throw wrongMagic(name, magic, LABELS_MAGIC, 'labels');
  const count = readHeaderWord(idx, 4, name);
  if (count === 0) throw new JobError(`${name}: the header says 0 labels; the file holds no data`);
  checkLength(idx, name, LABELS_HEADER_BYTES + count, `${count} labels`);
  const labels = idx.subarray(LABELS_HEADER_BYTES);
  for (let i = 0; i < count; i++) {
    if (labels[i]! >= CLASS_COUNT) {
      throw new JobError(`${name}: label ${labels[i]} at index ${i} is not a class (0–${CLASS_COUNT - 1})`);
    }
  }
  return { labels, count };
}

/** Images and labels of one split must describe the same samples. */
export function checkSameCount(images: IdxImages, imagesName: string, labels: IdxLabels, labelsName: string): void {
  if (images.count !== labels.count) {
    throw new JobError(
      `mismatch between ${imagesName} (${images.count} images) and ${labelsName} (${labels.count} labels)`,
    );
  }
}

function readHeaderWord(idx: Buffer, offset: number, name: string): number {
  if (idx.length < offset + 4) {
    throw new JobError(`${name}: truncated IDX header (${idx.length} bytes; the header alone needs ${offset + 4})`);
  }
  return idx.readUInt32BE(offset);
}

function checkLength(idx: Buffer, name: string, expected: number, what: string): void {
  if (idx.length < expected) {
    throw new JobError(`${name}: truncated: ${what} need ${expected} bytes, the file has ${idx.length}`);
  }
  if (idx.length > expected) {
    throw new JobError(
      `${name}: ${idx.length - expected} trailing bytes: ${what} need ${expected} bytes, the file has ${idx.length}`,
    );
  }
}

function wrongMagic(name: string, magic: number, expected: number, kind: 'images' | 'labels'): JobError {
  const other = kind === 'images' ? LABELS_MAGIC : IMAGES_MAGIC;
  const hint =
    magic === other
      ? `; it is an IDX ${kind === 'images' ? 'labels' : 'images'} file in the place of the ${kind} file`
      : '; not an IDX file, or corrupt';
  return new JobError(`${name}: magic number ${magic}, expected ${expected} (IDX ${kind})${hint}`);
}
