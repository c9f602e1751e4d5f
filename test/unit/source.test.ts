import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { JobError, NotFoundError, UsageError } from '../../job/errors.js';
import {
  FASHION_MNIST_MIRROR,
  HttpDataSource,
  SYSTEM_DATA_DIR,
  StorageDataSource,
  defaultCacheDir,
  openDataSource,
  resolveDataLocation,
} from '../../job/data/source.js';

const HAS_DEBIAN_DATASET = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

describe('default data location', () => {
  const present = () => true;
  const absent = () => false;

  test('an explicit location wins over everything', () => {
    assert.equal(resolveDataLocation('/data', { FASHION_MNIST_DIR: '/env' }, present), '/data');
  });

  test('then $FASHION_MNIST_DIR', () => {
    assert.equal(resolveDataLocation(undefined, { FASHION_MNIST_DIR: '/env' }, present), '/env');
  });

  test('then the Debian package directory when it exists', () => {
    assert.equal(resolveDataLocation(undefined, {}, present), SYSTEM_DATA_DIR);
    assert.equal(resolveDataLocation(undefined, { FASHION_MNIST_DIR: '  ' }, present), SYSTEM_DATA_DIR);
  });

  test("else Zalando's public mirror", () => {
    assert.equal(resolveDataLocation(undefined, {}, absent), FASHION_MNIST_MIRROR);
    assert.equal(FASHION_MNIST_MIRROR, 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/');
    assert.ok(openDataSource(undefined, {}, { dirExists: absent, cacheDir: '/nonexistent' }) instanceof HttpDataSource);
  });

  // .ci/run installs dataset-fashion-mnist, so in CI this runs (and a skip fails the run).
  test('with dataset-fashion-mnist installed, the default is its directory', { skip: !HAS_DEBIAN_DATASET && 'dataset-fashion-mnist is not installed' }, () => {
    assert.equal(SYSTEM_DATA_DIR, '/usr/share/datasets/fashion-mnist');
    assert.equal(resolveDataLocation(undefined, {}), '/usr/share/datasets/fashion-mnist');
    assert.ok(openDataSource(undefined, {}) instanceof StorageDataSource);
  });

  test('an empty --data is a UsageError', () => {
    assert.throws(() => resolveDataLocation('', {}), (error: unknown) => error instanceof UsageError && /--data is empty/.test(error.message));
  });

  test('an unknown scheme is a UsageError naming --data', () => {
    assert.throws(() => openDataSource('ftp://host/x', {}), /--data ftp:\/\/host\/x: unsupported scheme/);
  });

  test('directories and s3:// go through the storage layer', () => {
    assert.ok(openDataSource('/tmp/x', {}) instanceof StorageDataSource);
    const s3 = openDataSource('s3://bucket/fashion', { AWS_REGION: 'eu-west-1' });
    assert.ok(s3 instanceof StorageDataSource);
    assert.match(s3.location, /^s3:\/\/bucket\/fashion/);
  });

  test('the cache lives under $XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }), '/xdg/mixup-batch');
    assert.equal(defaultCacheDir({}), path.join(os.homedir(), '.cache', 'mixup-batch'));
  });
});

describe('http(s) data source', () => {
  let server: http.Server;
  let base: string;
  let cacheRoot: string;
  const hits: string[] = [];
  // Real gzip: a download must look like its name before it is cached.
  const files: Record<string, Buffer> = {
    'a.gz': gzipSync('first file'),
    'b.gz': gzipSync(Buffer.alloc(300_000, 7)),
    'c.gz': gzipSync('third file'),
    'html.gz': Buffer.from('<!DOCTYPE html><html><body>Please log in</body></html>'),
  };

  before(async () => {
    cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'source-cache-'));
    server = http.createServer((request, response) => {
      const name = decodeURIComponent(new URL(request.url!, 'http://x').pathname.split('/').pop()!);
      hits.push(name);
      if (name === 'slow.gz') {
        response.writeHead(200, { 'content-length': '10' });
        response.write('12345');
        return; // never finishes
      }
      if (name === 'broken.gz') {
        response.writeHead(500);
        response.end('oops');
        return;
      }
      if (name === 'denied.gz') {
        response.writeHead(403);
        response.end('AccessDenied');
        return;
      }
      const body = files[name];
      if (!body) {
        response.writeHead(404);
        response.end('no such file');
        return;
      }
      response.writeHead(200, { 'content-length': String(body.length) });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fashion`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(cacheRoot, { recursive: true, force: true });
  });

  test('downloads a file once, then serves it from the cache', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] });
    assert.equal(source.location, `${base}/`);
    hits.length = 0;
    assert.deepEqual(await source.read('b.gz'), files['b.gz']);
    assert.deepEqual(await source.read('b.gz'), files['b.gz']);
    // A fresh source (a later run) finds the cache too.
    assert.deepEqual(await openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] }).read('b.gz'), files['b.gz']);
    // SHA256SUMS too, once: a file the source's own sums list must match them before it is cached.
    assert.deepEqual(hits, ['b.gz', 'SHA256SUMS']);
    const cacheDir = (source as HttpDataSource).cacheDir;
    assert.ok(cacheDir.startsWith(path.join(cacheRoot, '127.0.0.1-')));
    assert.deepEqual((await readdir(cacheDir)).sort(), ['b.gz', 'b.gz.sha256'], 'no temporary file is left behind');
  });

  test('a 200 answer that is not gzip or IDX (an HTML page) is refused naming the URL and the cache file, and is not cached', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] }) as HttpDataSource;
    const cached = path.join(source.cacheDir, 'html.gz');
    await assert.rejects(source.read('html.gz'), (error: unknown) =>
      error instanceof JobError &&
      error.message === `download ${base}/html.gz: neither gzip nor IDX data (it begins "<!DOCTYPE html><html><body>Please log in"); not cached (cache file would be ${cached})`);
    assert.equal(existsSync(cached), false);
  });

  test('a bad file already in the cache is removed and fetched again, once', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] }) as HttpDataSource;
    await mkdir(source.cacheDir, { recursive: true });
    await writeFile(path.join(source.cacheDir, 'c.gz'), '<html>cached error page</html>');
    hits.length = 0;
    assert.deepEqual(await source.read('c.gz'), files['c.gz']);
    assert.deepEqual(await source.read('c.gz'), files['c.gz']);
    assert.deepEqual(hits.filter((name) => name !== 'SHA256SUMS'), ['c.gz']);
    assert.deepEqual(await readFile(path.join(source.cacheDir, 'c.gz')), files['c.gz']);
  });

  test('messages about a downloaded file name its URL and its cache file', () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] }) as HttpDataSource;
    assert.equal(source.describe('t.gz'), `${base}/t.gz (cached as ${path.join(source.cacheDir, 't.gz')})`);
  });

  test('the cache is keyed by base URL, so two mirrors never share files', () => {
    const one = new HttpDataSource(`${base}/one/`, cacheRoot);
    const two = new HttpDataSource(`${base}/two/`, cacheRoot);
    assert.notEqual(one.cacheDir, two.cacheDir);
  });

  test('a missing file (404) is a NotFoundError naming the URL', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] });
    await assert.rejects(source.read('nope.gz'), (error: unknown) => error instanceof NotFoundError && error.message === `not found: ${base}/nope.gz`);
  });

  test("S3 website's 403 for a missing key is also a NotFoundError", async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] });
    await assert.rejects(source.read('denied.gz'), NotFoundError);
  });

  test('a server error is a JobError with the status, and nothing is cached', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] }) as HttpDataSource;
    await assert.rejects(source.read('broken.gz'), (error: unknown) => error instanceof JobError && error.message === `download ${base}/broken.gz: HTTP 500 Internal Server Error (4 tries)`);
    assert.equal(existsSync(path.join(source.cacheDir, 'broken.gz')), false);
  });

  test('a stalled download times out with a clear error', async () => {
    const source = openDataSource(base, {}, { cacheDir: cacheRoot, idleMs: 300 }) as HttpDataSource;
    await assert.rejects(source.read('slow.gz'), new RegExp(`download ${base}/slow\\.gz: no data for 0\\.3 s`));
    assert.equal(existsSync(path.join(source.cacheDir, 'slow.gz')), false);
  });

  test('an unreachable host is a JobError that says what to do', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const source = openDataSource(`http://127.0.0.1:${port}/`, {}, { cacheDir: cacheRoot, retryDelaysMs: [1, 1, 1] });
    await assert.rejects(source.read('a.gz'), /download http:\/\/127\.0\.0\.1:\d+\/a\.gz: ECONNREFUSED.*\(4 tries\); check the network, or pass --data <dir>/);
  });
});
