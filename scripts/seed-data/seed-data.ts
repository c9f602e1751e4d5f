/**
 * `mixup seed-data --to s3://bucket/prefix [--from <dir|s3://…|http(s)://…>]`: copies the four
 * Fashion-MNIST files to where runs read them (`--data`), with a `SHA256SUMS` next to them.
 *
 * The files are verified before anything is uploaded (structure, the source's own SHA256SUMS, and the
 * published checksums when they claim to be the standard set), read back after upload and compared,
 * and `SHA256SUMS` is written last, so it only ever lists verified objects. A file whose checksum is
 * already in the destination's SHA256SUMS and whose stored size matches is skipped.
 */
import { JobError, NotFoundError, UsageError } from '../../job/errors.js';
import { FILES, loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { SHA256SUMS_NAME, formatSha256Sums, parseSha256Sums, sha256Hex } from '../../job/data/sha256sums.js';
import { openDataSource, type DataSource } from '../../job/data/source.js';
import { openStorage } from '../../job/storage/open.js';
import { CONTENT_TYPES, type Storage } from '../../job/storage/storage.js';

export interface SeedDataOptions {
  /** Destination: `s3://bucket/prefix` (a local directory works too). */
  readonly to: string;
  /** Source directory, `s3://` prefix or http(s) base URL. @default $FASHION_MNIST_DIR, Debian's copy, else Zalando's mirror */
  readonly from?: string;
  /** Environment for resolving the default source. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface SeededFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly action: 'uploaded' | 'skipped';
}

export interface SeedReport {
  readonly from: string;
  readonly to: string;
  /** True when the files are the standard Fashion-MNIST set (published checksums matched). */
  readonly standard: boolean;
  readonly files: SeededFile[];
  readonly uploadedBytes: number;
}

export async function seedData(options: SeedDataOptions): Promise<SeedReport> {
  if (!options.to?.trim()) throw new UsageError(`--to is required: the destination, e.g. s3://my-bucket/fashion-mnist`);
  const destination = openStorage(options.to, '--to');
  const source = memoize(openDataSource(options.from, options.env ?? process.env));
  // Full verification before the first upload: a bad source must leave the destination untouched.
  const dataset = await loadFashionMnist(source);

  const existing = await readSums(destination);
  const stored = new Map((await destination.list()).map((object) => [object.key, object.size]));
  const files: SeededFile[] = [];
  for (const name of Object.values(FILES)) {
    const body = await source.read(name);
    const sha256 = sha256Hex(body);
    if (existing.get(name) === sha256 && stored.get(name) === body.length) {
      files.push({ name, size: body.length, sha256, action: 'skipped' });
      continue;
    }
    await destination.write(name, body, CONTENT_TYPES.binary);
    const readBack = sha256Hex(await destination.read(name));
    if (readBack !== sha256) {
      throw new JobError(`checksum mismatch after upload: ${destination.uriOf(name)} has SHA-256 ${readBack}, the source has ${sha256}`);
    }
    files.push({ name, size: body.length, sha256, action: 'uploaded' });
  }

  const sums = new Map(existing);
  for (const file of files) sums.set(file.name, file.sha256);
  const text = formatSha256Sums(sums);
  if (files.some((file) => file.action === 'uploaded') || text !== formatSha256Sums(existing)) {
    await destination.write(SHA256SUMS_NAME, text, 'text/plain');
  }
  return {
    from: source.location,
    to: destination.uri,
    standard: dataset.standard,
    files,
    uploadedBytes: files.filter((file) => file.action === 'uploaded').reduce((sum, file) => sum + file.size, 0),
  };
}

/** Each file is read from the source once, though verification and upload both need it. */
function memoize(source: DataSource): DataSource {
  const cache = new Map<string, Promise<Buffer>>();
  return {
    location: source.location,
    read(name) {
      if (!cache.has(name)) cache.set(name, source.read(name));
      return cache.get(name)!;
    },
  };
}

async function readSums(storage: Storage): Promise<Map<string, string>> {
  try {
    return parseSha256Sums((await storage.read(SHA256SUMS_NAME)).toString('utf8'), storage.uriOf(SHA256SUMS_NAME));
  } catch (error) {
    if (error instanceof NotFoundError) return new Map();
    throw error;
  }
}
