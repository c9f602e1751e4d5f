/**
 * `openStorage` for the user's commands, which often read only local files (`results` on a local
 * sweep, a local `sweep`): the S3 client and its SDK load only when a location is an s3:// URI.
 */
import { LocalStorage } from './local.js';
import { isS3Uri } from './s3-uri.js';
import type { Storage } from './storage.js';

export async function openStorageLazily(location: string, option = 'location'): Promise<Storage> {
  if (!isS3Uri(location)) return new LocalStorage(location);
  const { openStorage } = await import('./open.js');
  return openStorage(location, option);
}
