/**
 * Where the dataset files come from: a local directory, an `s3://bucket/prefix` (both through the storage
 * layer) or an http(s) base URL whose files are downloaded once into a cache directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { JobError, NotFoundError, UsageError } from '../errors.js';
import { openStorage } from '../storage/open.js';
import { downloadProblem } from './verify-download.js';
import type { Storage } from '../storage/storage.js';

export interface DataSource {
  /** Where the files are read from, for messages and metrics (a path, `s3://…` or a URL). */
  readonly location: string;
  /** The whole file; throws `NotFoundError` naming its URI when it does not exist. */
  read(name: string): Promise<Buffer>;
  /** How messages name the file. @default `<location>/<name>` */
  describe?(name: string): string;
}

/** Debian's `dataset-fashion-mnist` package installs the four files here. */
export const SYSTEM_DATA_DIR = '/usr/share/datasets/fashion-mnist';
/** Zalando's own mirror, as its README links it (an S3 website endpoint: plain http only). */
export const FASHION_MNIST_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
/** The whole download of one file; the largest is 26 MB. @default 5 minutes */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 300_000;

export interface DataSourceOptions {
  /** Cache for downloaded files. @default $XDG_CACHE_HOME/mixup-batch, else ~/.cache/mixup-batch */
  readonly cacheDir?: string;
  /** @default DEFAULT_DOWNLOAD_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Whether a local directory exists (tests replace it). @default fs.statSync */
  readonly dirExists?: (dir: string) => boolean;
}

/**
 * The data location to use: `location` when given; else `$FASHION_MNIST_DIR`; else the Debian package's
 * directory when it exists; else Zalando's public mirror.
 */
export function resolveDataLocation(
  location: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  dirExists: (dir: string) => boolean = isDirectory,
): string {
  if (location !== undefined) {
    if (location.trim() === '') throw new UsageError(`--data is empty; give a directory, s3://bucket/prefix or URL`);
    return location;
  }
  const fromEnv = env.FASHION_MNIST_DIR?.trim();
  if (fromEnv) return fromEnv;
  if (dirExists(SYSTEM_DATA_DIR)) return SYSTEM_DATA_DIR;
  return FASHION_MNIST_MIRROR;
}

export function openDataSource(
  location?: string,
  env: NodeJS.ProcessEnv = process.env,
  options: DataSourceOptions = {},
): DataSource {
  const resolved = resolveDataLocation(location, env, options.dirExists);
  if (/^https?:\/\//i.test(resolved)) {
    return new HttpDataSource(resolved, options.cacheDir ?? defaultCacheDir(env), options.timeoutMs);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(resolved) && !/^s3:\/\//i.test(resolved)) {
    throw new UsageError(`--data ${resolved}: unsupported scheme; use a directory, s3://bucket/prefix or http(s)://`);
  }
  return new StorageDataSource(openStorage(resolved, '--data'));
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
 * An http(s) base URL. Each file is downloaded once into `<cacheDir>/<host>-<hash of the URL>/`, written
 * to a temporary name and renamed into place, so an interrupted download never leaves a half file
 * that a later run would trust.
 */
export class HttpDataSource implements DataSource {
  readonly location: string;
  readonly cacheDir: string;

  constructor(
    baseUrl: string,
    cacheRoot: string,
    private readonly timeoutMs: number = DEFAULT_DOWNLOAD_TIMEOUT_MS,
  ) {
    this.location = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    const url = new URL(this.location);
    const key = createHash('sha256').update(this.location).digest('hex').slice(0, 12);
    this.cacheDir = path.join(cacheRoot, `${url.hostname.replace(/[^a-zA-Z0-9.-]/g, '_')}-${key}`);
  }

  urlOf(name: string): string {
    return new URL(name, this.location).toString();
  }

  async read(name: string): Promise<Buffer> {
    const cached = path.join(this.cacheDir, name);
    let body: Buffer | null = null;
    try {
      body = await readFile(cached);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (body) {
      if (downloadProblem(name, body) === null) return body;
      // A bad file cached by an older version, or damaged since: removed and fetched again, once.
      await rm(cached, { force: true });
    }
    body = await this.download(name);
    const problem = downloadProblem(name, body);
    if (problem) {
      throw new JobError(`download ${this.urlOf(name)}: ${problem}; not cached (cache file would be ${cached})`);
    }
    await mkdir(this.cacheDir, { recursive: true });
    const temp = `${cached}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await writeFile(temp, body);
      await rename(temp, cached);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return body;
  }

  /** For messages about a file's contents: its URL and where it is cached. */
  describe(name: string): string {
    return `${this.urlOf(name)} (cached as ${path.join(this.cacheDir, name)})`;
  }

  private async download(name: string): Promise<Buffer> {
    const url = this.urlOf(name);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'follow' });
      // S3 website endpoints answer 403, not 404, for a missing key when listing is not public.
      if (response.status === 404 || response.status === 403) {
        await response.body?.cancel();
        throw new NotFoundError(url);
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new JobError(`download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
      }
      const body = Buffer.from(await response.arrayBuffer());
      const declared = Number(response.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > 0 && !response.headers.get('content-encoding') && body.length !== declared) {
        throw new JobError(`download ${url}: got ${body.length} bytes, the server announced ${declared}`);
      }
      return body;
    } catch (error) {
      if (error instanceof JobError) throw error;
      const reason = describeFetchError(error);
      if ((error as Error | undefined)?.name === 'TimeoutError') {
        throw new JobError(`download ${url}: timed out after ${this.timeoutMs / 1000} s`, { cause: error });
      }
      throw new JobError(
        `download ${url}: ${reason}; check the network, or pass --data <dir> with the four files`,
        { cause: error },
      );
    }
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

function isDirectory(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}
