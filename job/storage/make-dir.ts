/**
 * `mkdir -p` that reports the real cause. Node's recursive mkdir answers ENOENT for a directory it
 * cannot create on a read-only filesystem (and in some other cases), which would tell a user their
 * `--out` "does not exist"; the first missing part, created alone, fails with the true cause (EROFS,
 * EACCES, ENOSPC…) and its path.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

export async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw (await trueCause(dir)) ?? error;
  }
}

async function trueCause(dir: string): Promise<unknown> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      await stat(current);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
      if (path.dirname(current) === current) return null;
      missing.unshift(current);
    }
  }
  for (const part of missing) {
    try {
      await mkdir(part);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return error;
    }
  }
  return null;
}

/** A write error (ENOSPC, EIO…) from a file handle carries no path; the message needs one. */
export function withPath(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.path === undefined) e.path = file;
  return error;
}
