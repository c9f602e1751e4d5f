/**
 * The `SHA256SUMS` file that travels with a copy of the dataset, in `sha256sum`'s own format
 * (`<64 hex>  <name>`, or `<64 hex> *<name>` in binary mode), so `sha256sum -c SHA256SUMS` checks it too.
 * The sums are over the files' bytes as stored (the .gz files), not their decompressed contents.
 */
import { createHash } from 'node:crypto';

import { JobError } from '../errors.js';

export const SHA256SUMS_NAME = 'SHA256SUMS';

const LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;

export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** One line per file, sorted by name, ending in a newline. */
export function formatSha256Sums(sums: ReadonlyMap<string, string> | Record<string, string>): string {
  const entries = sums instanceof Map ? [...sums.entries()] : Object.entries(sums);
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, hex]) => `${hex.toLowerCase()}  ${name}\n`)
    .join('');
}

/** name → lowercase hex. `where` names the file in errors. */
export function parseSha256Sums(text: string, where: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = LINE.exec(line);
    if (!match) {
      throw new JobError(`${where}: line ${index + 1} is not '<sha256 hex>  <file name>': ${JSON.stringify(raw)}`);
    }
    sums.set(match[2]!, match[1]!.toLowerCase());
  });
  return sums;
}
