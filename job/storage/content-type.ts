import { CONTENT_TYPES } from './storage.js';

const BY_EXTENSION: Record<string, string> = {
  json: CONTENT_TYPES.json,
  png: CONTENT_TYPES.png,
  csv: CONTENT_TYPES.csv,
  html: CONTENT_TYPES.html,
  txt: 'text/plain',
};

/** The content type a key's extension implies; `application/octet-stream` for anything else (weights, gz). */
export function contentTypeOf(key: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase() ?? '';
  return BY_EXTENSION[extension] ?? CONTENT_TYPES.binary;
}
