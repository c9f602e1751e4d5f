import { randomBytes } from 'node:crypto';
import { readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { NotFoundError } from '../errors.js';
import { makeDirectory, withPath } from './make-dir.js';
import type { Storage, StoredObject } from './storage.js';

/** A local directory. Writes go to a temporary file that is renamed into place (atomic on POSIX). */
export class LocalStorage implements Storage {
  readonly uri: string;

  constructor(dir: string) {
    this.uri = path.resolve(dir);
  }

  uriOf(key: string): string {
    return path.join(this.uri, ...key.split('/'));
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await readFile(this.uriOf(key));
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError(this.uriOf(key));
      throw withPath(error, this.uriOf(key));
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.uriOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async write(key: string, body: Buffer | string, _contentType: string): Promise<void> {
    const file = this.uriOf(key);
    await makeDirectory(path.dirname(file));
    const temp = `${file}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await writeFile(temp, body);
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      // A full disk fails the write itself, whose error names no file: name the one being written.
      throw withPath(error, file);
    }
  }

  async list(prefix = ''): Promise<StoredObject[]> {
    const root = prefix ? this.uriOf(prefix.replace(/\/+$/, '')) : this.uri;
    let entries;
    try {
      entries = await readdir(root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw error;
    }
    const objects: StoredObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith('.partial')) continue;
      const full = path.join(entry.parentPath, entry.name);
      const key = path.relative(this.uri, full).split(path.sep).join('/');
      objects.push({ key, size: (await stat(full)).size });
    }
    return objects.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    const file = this.uriOf(key);
    await rm(file, { force: true });
    // Directories exist only for their objects (as on S3): one emptied by this delete goes too.
    for (let dir = path.dirname(file); dir.startsWith(`${this.uri}${path.sep}`); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty, or already gone
      }
    }
  }

  child(sub: string): Storage {
    return new LocalStorage(path.join(this.uri, ...sub.split('/').filter(Boolean)));
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT';
}
