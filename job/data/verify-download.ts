/**
 * What a downloaded dataset file must look like before it may enter the cache: a server that answers
 * 200 with an HTML page (a captive portal, a mirror's error page) would otherwise be cached and fail
 * every later run. Cheap checks on the first bytes; the loader still verifies everything in full.
 */
import { isGzip } from './idx.js';
import { parseSha256Sums, SHA256SUMS_NAME } from './sha256sums.js';

const IDX_MAGICS = new Set([0x00000801, 0x00000803]);

/** Why `body` cannot be the file `name`, or null when it may be. */
export function downloadProblem(name: string, body: Buffer): string | null {
  if (name === SHA256SUMS_NAME) {
    try {
      parseSha256Sums(body.toString('utf8'), name);
      return null;
    } catch (error) {
      return (error as Error).message.replace(`${name}: `, '');
    }
  }
  if (/\.gz$|-ubyte$/.test(name)) {
    if (isGzip(body)) return null;
    if (body.length >= 4 && IDX_MAGICS.has(body.readUInt32BE(0))) return null;
    const start = body.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    return `neither gzip nor IDX data (it begins ${JSON.stringify(start)})`;
  }
  return null;
}
