import { LocalStorage } from './local.js';
import { S3Storage, type S3StorageOptions } from './s3.js';
import { isS3Uri, parseS3Uri } from './s3-uri.js';
import type { Storage } from './storage.js';

/**
 * A storage for an `s3://bucket/prefix` URI or a local path. `option` names the flag in messages
 * (e.g. `--out`); an invalid S3 URI throws a UsageError.
 */
export function openStorage(location: string, option = 'location', s3Options: S3StorageOptions = {}): Storage {
  if (isS3Uri(location)) return new S3Storage(parseS3Uri(location, option), s3Options);
  return new LocalStorage(location);
}
