import { LocalStorage } from './local.js';
import type { Storage } from './storage.js';

/** A storage for a local path or (once the S3 backend lands) an `s3://bucket/prefix` URI. */
export function openStorage(location: string): Storage {
  return new LocalStorage(location);
}
