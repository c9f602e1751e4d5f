/**
 * Where a run reads and writes its objects: a local directory or an S3 prefix, with one layout.
 * Keys are relative, '/'-separated paths under the storage's base URI.
 */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export type ObjectTags = Readonly<Record<string, string>>;


export interface Storage {
  /** The base URI, e.g. `/abs/runs/r1` or `s3://bucket/prefix/r1`. */
  readonly uri: string;
  /** The full URI of one key, for messages. */
  uriOf(key: string): string;
  /** The whole object; throws `NotFoundError` naming the URI when it does not exist. */
  read(key: string): Promise<Buffer>;
  /** True when the object exists. */
  exists(key: string): Promise<boolean>;
  /**
   * Writes the whole object atomically: a reader sees the old object or the new one, never half.
   * `tags` become S3 object tags (lifecycle rules select on them); local directories ignore them.
   */
  write(key: string, body: Buffer | string, contentType: string, tags?: ObjectTags): Promise<void>;
  /** Every object under `prefix` (recursive), keys relative to the base. */
  list(prefix?: string): Promise<StoredObject[]>;
  /** Removes the object; no error when it is already gone. */
  delete(key: string): Promise<void>;
  /** A storage rooted at `base/sub`. */
  child(sub: string): Storage;
}

export const CONTENT_TYPES = {
  json: 'application/json',
  png: 'image/png',
  csv: 'text/csv',
  html: 'text/html',
  binary: 'application/octet-stream',
} as const;
