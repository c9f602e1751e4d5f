/** Test doubles shared by the sweep and results unit tests: an in-memory Storage and recorded logs. */
import { NotFoundError } from '../../job/errors.js';
import type { Storage, StoredObject } from '../../job/storage/storage.js';

/** Objects live in one shared map keyed by full URI, so children and parents see the same bytes. */
export class MemoryStorage implements Storage {
  constructor(
    readonly uri: string,
    readonly objects: Map<string, Buffer> = new Map(),
  ) {}

  uriOf(key: string): string {
    return `${this.uri}/${key}`;
  }

  async read(key: string): Promise<Buffer> {
    const body = this.objects.get(this.uriOf(key));
    if (!body) throw new NotFoundError(this.uriOf(key));
    return body;
  }

  async exists(key: string): Promise<boolean> {
    return this.objects.has(this.uriOf(key));
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    this.objects.set(this.uriOf(key), Buffer.from(body));
  }

  async list(prefix = ''): Promise<StoredObject[]> {
    const base = `${this.uri}/`;
    return [...this.objects.entries()]
      .filter(([uri]) => uri.startsWith(base + prefix))
      .map(([uri, body]) => ({ key: uri.slice(base.length), size: body.length }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(this.uriOf(key));
  }

  child(sub: string): Storage {
    return new MemoryStorage(`${this.uri}/${sub.replace(/^\/+|\/+$/g, '')}`, this.objects);
  }
}

/** An opener over one shared map: `openStorage('s3://bucket')` and its children share objects. */
export function memoryOpener(objects = new Map<string, Buffer>()): {
  objects: Map<string, Buffer>;
  openStorage: (location: string) => Storage;
  opened: string[];
} {
  const opened: string[] = [];
  return {
    objects,
    opened,
    openStorage: (location) => {
      opened.push(location);
      return new MemoryStorage(location.replace(/\/+$/, ''), objects);
    },
  };
}
