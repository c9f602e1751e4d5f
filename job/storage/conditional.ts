/**
 * One object that can be created only if absent and replaced only if unchanged: the primitive the run
 * lease needs. On S3, conditional PUTs (`If-None-Match: *`, `If-Match: <ETag>`), which S3 applies
 * atomically; S3-compatible servers vary (s3rver ignores them), so the lease probes the store
 * (`honoursConditionalWrites`). In a directory, an O_EXCL create; a replace moves the current file
 * aside (rename is atomic, so one mover wins), checks it is the version expected and creates the new
 * one with O_EXCL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

import { NotFoundError } from '../errors.js';
import { LocalStorage } from './local.js';
import { makeDirectory, withPath } from './make-dir.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';
import { CONTENT_TYPES } from './storage.js';

export interface Versioned {
  readonly body: string;
  /** Opaque version: S3's ETag, or a hash of the file's bytes. */
  readonly version: string;
}

export interface ConditionalObject {
  readonly uri: string;
  /** The new version, or null when the object already exists. */
  create(body: string): Promise<string | null>;
  /** The new version, or null when the object is gone or no longer at `version`. */
  replace(body: string, version: string): Promise<string | null>;
  read(): Promise<Versioned | null>;
  remove(): Promise<void>;
  /** Where the object lives, for messages: an S3 endpoint (or `AWS S3`), or `the local file system`. */
  store(): Promise<string>;
}

/**
 * Whether the store refuses a create of an object that exists, as one that honours `If-None-Match: *`
 * must (S3 answers 412). `probe` names an object nobody else uses: it is created, created again (which
 * must be refused) and removed.
 */
export async function honoursConditionalWrites(probe: ConditionalObject): Promise<boolean> {
  const body = '{"probe":"If-None-Match"}\n';
  try {
    // Not created: the key exists, so it cannot be a fresh probe; judge by the refusal alone.
    if ((await probe.create(body)) === null) return true;
    return (await probe.create(body)) === null;
  } finally {
    await probe.remove();
  }
}

export function conditionalObject(storage: Storage, key: string): ConditionalObject {
  if (storage instanceof S3Storage) return new S3Conditional(storage, key);
  if (storage instanceof LocalStorage) return new FileConditional(storage.uriOf(key));
  throw new TypeError(`no conditional writes for storage ${storage.uri}`);
}

class FileConditional implements ConditionalObject {
  constructor(readonly uri: string) {}

  async create(body: string): Promise<string | null> {
    await makeDirectory(path.dirname(this.uri));
    try {
      await writeFile(this.uri, body, { flag: 'wx' });
      return hash(body);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
      await rm(this.uri, { force: true });
      throw withPath(error, this.uri);
    }
  }

  async replace(body: string, version: string): Promise<string | null> {
    const aside = `${this.uri}.${randomBytes(6).toString('hex')}.replacing`;
    try {
      await rename(this.uri, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      if (hash(await readFile(aside, 'utf8')) !== version) {
        // Not the version we judged: put it back unless someone has already created a new one.
        await link(aside, this.uri).catch(() => {});
        return null;
      }
      return await this.create(body);
    } finally {
      await rm(aside, { force: true });
    }
  }

  async read(): Promise<Versioned | null> {
    try {
      const body = await readFile(this.uri, 'utf8');
      return { body, version: hash(body) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async remove(): Promise<void> {
    await rm(this.uri, { force: true });
  }

  async store(): Promise<string> {
    return 'the local file system';
  }
}

class S3Conditional implements ConditionalObject {
  readonly uri: string;

  constructor(
    private readonly storage: S3Storage,
    private readonly key: string,
  ) {
    this.uri = storage.uriOf(key);
  }

  create(body: string): Promise<string | null> {
    return this.put(body, { IfNoneMatch: '*' });
  }

  replace(body: string, version: string): Promise<string | null> {
    return this.put(body, { IfMatch: version });
  }

  async read(): Promise<Versioned | null> {
    const { client, bucket, key } = this.storage.raw;
    try {
      return await this.storage.retrying(this.key, async () => {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(this.key) }));
        return { body: await response.Body!.transformToString('utf8'), version: response.ETag ?? '' };
      });
    } catch (error) {
      const mapped = this.storage.mapError(error, this.key);
      if (mapped instanceof NotFoundError) return null;
      throw mapped;
    }
  }

  async remove(): Promise<void> {
    const { client, bucket, key } = this.storage.raw;
    try {
      await this.storage.retrying(this.key, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(this.key) })));
    } catch (error) {
      throw this.storage.mapError(error, this.key);
    }
  }

  async store(): Promise<string> {
    const endpoint = await this.storage.raw.client.config.endpoint?.();
    if (!endpoint) return 'AWS S3';
    return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path === '/' ? '' : endpoint.path}`;
  }

  private async put(body: string, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<string | null> {
    const { client, bucket, key } = this.storage.raw;
    try {
      const response = await this.storage.retrying(this.key, () =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: key(this.key), Body: body, ContentType: CONTENT_TYPES.json, ...condition })),
      );
      return response.ETag ?? '';
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw this.storage.mapError(error, this.key);
    }
  }
}

/** 412: the condition did not hold; 409: a concurrent conditional write to the key won; 404: If-Match on a gone key. */
function isConditionFailure(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  return status === 412 || status === 409 || e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict' ||
    (status === 404 && e?.name !== 'NoSuchBucket');
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
