/**
 * Where the dataset files come from: a local directory, an `s3://bucket/prefix` (both through the storage
 * layer) or an http(s) base URL whose files are downloaded once into a cache directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { JobError, NotFoundError, UsageError } from '../errors.js';
import { resolveDataLocation } from './location.js';
import { makeDirectory } from '../storage/make-dir.js';
import { openStorage } from '../storage/open.js';
import { DEFAULT_DOWNLOAD_IDLE_MS, DEFAULT_RETRY_DELAYS_MS, DOWNLOAD_IDLE_ENV, downloadToFile } from './download.js';
import { parseSha256Sums, SHA256SUMS_NAME, sha256Hex } from './sha256sums.js';
import { verifyDownload } from './verify-download.js';
import type { Storage } from '../storage/storage.js';

export interface DataSource {
  /** Where the files are read from, for messages and metrics (a path, `s3://…` or a URL). */
  readonly location: string;
  /**
   * The whole file; throws `NotFoundError` naming its URI when it does not exist, and
   * `InterruptedError` when `signal` aborts a download.
   */
  read(name: string, options?: ReadOptions): Promise<Buffer>;
  /** How messages name the file. @default `<location>/<name>` */
  describe?(name: string): string;
}

export { FASHION_MNIST_MIRROR, resolveDataLocation, SYSTEM_DATA_DIR } from './location.js';

export interface ReadOptions {
  /** Aborted when the run is asked to stop. */
  readonly signal?: AbortSignal;
}

export interface DataSourceOptions {
  /** Cache for downloaded files. @default $XDG_CACHE_HOME/mixup-batch, else ~/.cache/mixup-batch */
  readonly cacheDir?: string;
  /** How long a download may go without a byte. @default $MIXUP_DOWNLOAD_IDLE_SECONDS, else 60 s */
  readonly idleMs?: number;
  /** Waits before each further try of a transient failure. @default DEFAULT_RETRY_DELAYS_MS */
  readonly retryDelaysMs?: readonly number[];
  /** Whether a local directory exists (tests replace it). @default fs.statSync */
  readonly dirExists?: (dir: string) => boolean;
}

export function openDataSource(
  location?: string,
  env: NodeJS.ProcessEnv = process.env,
  options: DataSourceOptions = {},
): DataSource {
  const resolved = resolveDataLocation(location, env, options.dirExists);
  if (/^https?:\/\//i.test(resolved)) {
    return new HttpDataSource(resolved, options.cacheDir ?? defaultCacheDir(env), {
      idleMs: options.idleMs ?? downloadIdleMs(env),
      retryDelaysMs: options.retryDelaysMs,
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(resolved) && !/^s3:\/\//i.test(resolved)) {
    throw new UsageError(`--data ${resolved}: unsupported scheme; use a directory, s3://bucket/prefix or http(s)://`);
  }
  return new StorageDataSource(openStorage(resolved, '--data'));
}

/** The inactivity limit of downloads from `$MIXUP_DOWNLOAD_IDLE_SECONDS`; a bad value is a UsageError. */
export function downloadIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[DOWNLOAD_IDLE_ENV]?.trim();
  if (!text) return DEFAULT_DOWNLOAD_IDLE_MS;
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0 && seconds <= 86_400)) {
    throw new UsageError(`${DOWNLOAD_IDLE_ENV}=${JSON.stringify(text)}: must be a number of seconds from 0 (exclusive) to 86400`);
  }
  return seconds * 1000;
}

/** The cache root: `$XDG_CACHE_HOME/mixup-batch`, else `~/.cache/mixup-batch`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache');
  return path.join(base, 'mixup-batch');
}

/** A local directory or S3 prefix, read through the storage layer. */
export class StorageDataSource implements DataSource {
  readonly location: string;

  constructor(private readonly storage: Storage) {
    this.location = storage.uri;
  }

  read(name: string): Promise<Buffer> {
    return this.storage.read(name);
  }
}

/**
 * An http(s) base URL. Each file is downloaded once into `<cacheDir>/<host>-<hash of the URL>/`: written to
 * a temporary name, verified in full (`verifyDownload`, and the SHA-256 the source's own SHA256SUMS lists),
 * and only then renamed into place, with its SHA-256 beside it (`<name>.sha256`). A cached file whose
 * bytes no longer match that SHA-256 (or that has none, from an older version) is verified again, and
 * fetched again once when it fails.
 */
export class HttpDataSource implements DataSource {
  readonly location: string;
  readonly cacheDir: string;
  private sums: Promise<Map<string, string> | null> | undefined;

  constructor(
    baseUrl: string,
    cacheRoot: string,
    private readonly options: { readonly idleMs?: number; readonly retryDelaysMs?: readonly number[] } = {},
  ) {
    this.location = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    const url = new URL(this.location);
    const key = createHash('sha256').update(this.location).digest('hex').slice(0, 12);
    this.cacheDir = path.join(cacheRoot, `${url.hostname.replace(/[^a-zA-Z0-9.-]/g, '_')}-${key}`);
  }

  urlOf(name: string): string {
    return new URL(name, this.location).toString();
  }

  async read(name: string, options: ReadOptions = {}): Promise<Buffer> {
    const cached = path.join(this.cacheDir, name);
    const body = await readIfExists(cached);
    if (body) {
      if (await this.stillGood(name, body, options)) return body;
      // Damaged since, cut short by an older version, or not what the source now lists: fetched again, once.
      await Promise.all([rm(cached, { force: true }), rm(sidecarOf(cached), { force: true })]);
    }
    try {
      return await this.fetchVerified(name, options);
    } catch (error) {
      // A body cut short without a Content-Length only shows as a bad file: one more try.
      if (!(error instanceof FailedVerification)) throw error;
      return this.fetchVerified(name, options);
    }
  }

  /** For messages about a file's contents: its URL and where it is cached. */
  describe(name: string): string {
    return `${this.urlOf(name)} (cached as ${path.join(this.cacheDir, name)})`;
  }

  private async stillGood(name: string, body: Buffer, options: ReadOptions): Promise<boolean> {
    const cached = path.join(this.cacheDir, name);
    const recorded = (await readIfExists(sidecarOf(cached)))?.toString('utf8').trim();
    const sha256 = sha256Hex(body);
    if (recorded === sha256) return true;
    if ((await verifyDownload(name, body, await this.expectedSha256(name, options))) !== null) return false;
    await writeFile(sidecarOf(cached), `${sha256}\n`);
    return true;
  }

  private async fetchVerified(name: string, options: ReadOptions): Promise<Buffer> {
    const url = this.urlOf(name);
    const cached = path.join(this.cacheDir, name);
    await makeDirectory(this.cacheDir);
    const temp = `${cached}.${randomBytes(6).toString('hex')}.partial`;
    try {
      const { sha256 } = await downloadToFile(url, temp, {
        idleMs: this.options.idleMs ?? DEFAULT_DOWNLOAD_IDLE_MS,
        retryDelaysMs: this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
        signal: options.signal,
      });
      const body = await readFile(temp);
      const problem = await verifyDownload(name, body, await this.expectedSha256(name, options));
      if (problem) throw new FailedVerification(`download ${url}: ${problem}; not cached (cache file would be ${cached})`);
      await rename(temp, cached);
      await writeFile(sidecarOf(cached), `${sha256}\n`);
      return body;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** What the source's own SHA256SUMS says `name` must hash to; undefined when it has none or does not list it. */
  private async expectedSha256(name: string, options: ReadOptions): Promise<string | undefined> {
    if (name === SHA256SUMS_NAME) return undefined;
    this.sums ??= this.read(SHA256SUMS_NAME, options).then(
      (body) => parseSha256Sums(body.toString('utf8'), this.describe(SHA256SUMS_NAME)),
      (error: unknown) => {
        if (error instanceof NotFoundError) return null;
        this.sums = undefined;
        throw error;
      },
    );
    return (await this.sums)?.get(name);
  }
}

/** A download that arrived but is not the file it should be. */
class FailedVerification extends JobError {}

function sidecarOf(cached: string): string {
  return `${cached}.sha256`;
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
