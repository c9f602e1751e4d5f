import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { createS3Client, endpointFrom } from './s3-client.js';
import { mapS3Error } from './s3-errors.js';
import { type OutageWait, withOutageRetry } from './s3-retry.js';
import { s3TimeoutsFrom } from './s3-timeouts.js';
import { formatS3Uri, type S3Location } from './s3-uri.js';
import type { Storage, StoredObject, ObjectTags } from './storage.js';

/** Bodies above this go up in parts, so a dropped connection costs one part, not the whole object. */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/** S3's smallest allowed part (except the last). */
export const PART_SIZE = 5 * 1024 * 1024;
const PART_CONCURRENCY = 4;

export interface S3StorageOptions {
  /** @default a client from `createS3Client()` (standard SDK configuration) */
  readonly client?: S3Client;
  /** Bodies larger than this many bytes use a multipart upload. @default MULTIPART_THRESHOLD */
  readonly multipartThreshold?: number;
  /** Environment the client is configured from (endpoint, attempts). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Told before each wait while the endpoint is failing. @default one line on stderr */
  readonly onOutageWait?: (wait: OutageWait) => void;
}

/**
 * An S3 prefix. A PUT (and a completed multipart upload) replaces an object in one step, so writes
 * are atomic to readers just like LocalStorage's rename; an aborted multipart upload leaves no object.
 */
export class S3Storage implements Storage {
  readonly uri: string;
  private readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly options: S3StorageOptions;
  /** Named in network errors; fixed at construction, as the client's configuration is. */
  private readonly endpoint: string;
  private readonly outageMs: number;

  constructor(
    readonly location: S3Location,
    options: S3StorageOptions = {},
  ) {
    const env = options.env ?? process.env;
    this.uri = formatS3Uri(location.bucket, location.prefix);
    this.client = options.client ?? createS3Client({ env });
    this.multipartThreshold = options.multipartThreshold ?? MULTIPART_THRESHOLD;
    this.endpoint = endpointFrom(env) ?? 'AWS S3';
    this.outageMs = s3TimeoutsFrom(env).outageMs;
    this.options = { ...options, client: this.client };
  }

  uriOf(key: string): string {
    return formatS3Uri(this.location.bucket, this.keyOf(key));
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await this.retrying(key, async () => {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(key) }));
        return Buffer.from(await response.Body!.transformToByteArray());
      });
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    // A listing rather than HEAD: HEAD answers a bare 404 for a missing bucket too, and a run that
    // mistook "no bucket" for "no checkpoint" would train for minutes before failing on its first write.
    const full = this.keyOf(key);
    try {
      const response = await this.retrying(key, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: full, MaxKeys: 1 })),
      );
      return response.Contents?.[0]?.Key === full;
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  async write(key: string, body: Buffer | string, contentType: string, tags?: ObjectTags): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const params = { Bucket: this.location.bucket, Key: this.keyOf(key), Body: bytes, ContentType: contentType };
    const tagList = Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    try {
      if (bytes.length <= this.multipartThreshold) {
        const tagging = tagList.length ? new URLSearchParams(tagList.map((t) => [t.Key, t.Value])).toString() : undefined;
        await this.retrying(key, () => this.client.send(new PutObjectCommand({ ...params, Tagging: tagging })));
      } else {
        await this.retrying(key, () =>
          new Upload({ client: this.client, params, tags: tagList, partSize: PART_SIZE, queueSize: PART_CONCURRENCY }).done(),
        );
      }
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  async list(prefix = ''): Promise<StoredObject[]> {
    // Directory semantics, as LocalStorage: list('checkpoints') must not match 'checkpoints-old/…'.
    const base = this.location.prefix ? `${this.location.prefix}/` : '';
    const sub = prefix.replace(/^\/+|\/+$/g, '');
    const objects: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const continuation = token;
        const response = await this.retrying(sub, () =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.location.bucket,
              Prefix: sub ? `${base}${sub}/` : base,
              ContinuationToken: continuation,
            }),
          ),
        );
        for (const object of response.Contents ?? []) {
          if (!object.Key || object.Key.endsWith('/')) continue;
          objects.push({ key: object.Key.slice(base.length), size: object.Size ?? 0 });
        }
        token = response.IsTruncated ? response.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.mapError(error, sub);
    }
    return objects.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.retrying(key, () =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(key) })),
      );
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  child(sub: string): Storage {
    const parts = [this.location.prefix, ...sub.split('/')].filter(Boolean);
    return new S3Storage({ bucket: this.location.bucket, prefix: parts.join('/') }, this.options);
  }

  /** One request, retried through an outage of up to the budget (see s3-retry.ts). */
  retrying<T>(key: string, attempt: () => Promise<T>): Promise<T> {
    return withOutageRetry(attempt, this.uriOf(key), {
      outageMs: this.outageMs,
      endpoint: this.endpoint,
      onWait: this.options.onOutageWait ?? logOutageWait,
    });
  }

  /** The client and bucket, for modules that need a request this class does not offer (the lease). */
  get raw(): { client: S3Client; bucket: string; key: (key: string) => string } {
    return { client: this.client, bucket: this.location.bucket, key: (key) => this.keyOf(key) };
  }

  private keyOf(key: string): string {
    const clean = key.replace(/^\/+/, '');
    return this.location.prefix ? `${this.location.prefix}/${clean}` : clean;
  }

  mapError(error: unknown, key: string): Error {
    return mapS3Error(error, this.uriOf(key), this.location.bucket, this.endpoint);
  }
}

function logOutageWait(wait: OutageWait): void {
  process.stderr.write(
    `mixup: ${wait.endpoint} failing for ${wait.waitedSeconds} s (${wait.cause}, ${wait.uri}); retrying in ${wait.retryInSeconds} s\n`,
  );
}
