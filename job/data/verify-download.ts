/**
 * What a downloaded dataset file must be before it may enter the cache (and what a cached file must
 * still be before it is trusted): a server that answers 200 with an HTML page, or closes the connection
 * half way through a body of unknown length, would otherwise be cached and fail every later run.
 */
import { decompressIdx, idxLength, isGzip } from './idx.js';
import { parseSha256Sums, SHA256SUMS_NAME, sha256Hex } from './sha256sums.js';
import { FILES, MAGIC_OF, STANDARD_COUNTS, STANDARD_SHA256, type FileRole } from './standard.js';

const IDX_MAGICS = new Set([0x00000801, 0x00000803]);
const ROLE_OF = new Map(Object.entries(FILES).map(([role, name]) => [name as string, role as FileRole]));

/** Why `body` cannot be the file `name` at first sight (its first bytes), or null when it may be. */
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

/**
 * Why `body` cannot be the file `name`, checked in full, or null when it is whole: a gzip stream must end
 * where its trailer says (its CRC and length checked), the IDX inside must be as long as its header
 * implies, a standard-size file must have the published contents, and a file the source's SHA256SUMS
 * lists must have that SHA-256 (`expectedSha256`).
 */
export async function verifyDownload(name: string, body: Buffer, expectedSha256?: string): Promise<string | null> {
  const first = downloadProblem(name, body);
  if (first !== null) return first;
  if (expectedSha256 !== undefined) {
    const actual = sha256Hex(body);
    if (actual !== expectedSha256) return `SHA-256 ${actual}, ${SHA256SUMS_NAME} says ${expectedSha256}`;
  }
  if (!/\.gz$|-ubyte$/.test(name)) return null;
  const role = ROLE_OF.get(name);
  let idx: Buffer;
  try {
    idx = await decompressIdx(body, name, undefined, role && MAGIC_OF[role]);
  } catch (error) {
    return (error as Error).message.replace(`${name}: `, '');
  }
  const implied = idxLength(idx);
  if (implied !== null && implied > 0 && idx.length < implied) {
    return `cut short: ${isGzip(body) ? 'decompresses to' : 'has'} ${idx.length} bytes, its IDX header implies ${implied}`;
  }
  if (role !== undefined && idx.length >= 8 && idx.readUInt32BE(4) === STANDARD_COUNTS[role]) {
    const actual = sha256Hex(idx);
    if (actual !== STANDARD_SHA256[role]) {
      return `has the standard size (${STANDARD_COUNTS[role]} samples) but its contents' SHA-256 is ${actual}, expected ${STANDARD_SHA256[role]}`;
    }
  }
  return null;
}
