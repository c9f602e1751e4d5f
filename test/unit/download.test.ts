import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { InterruptedError, JobError, UsageError } from '../../job/errors.js';
import { HttpDataSource, downloadIdleMs, openDataSource } from '../../job/data/source.js';
import { formatSha256Sums, sha256Hex } from '../../job/data/sha256sums.js';
import { makeSplit } from '../support/fake-dataset.js';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, hit: number) => void;

/** A gzip'd IDX labels file of 50 samples: long enough that half of it is not a whole gzip stream. */
const LABELS = gzipSync(makeSplit(50)[1]);
const IMAGES = gzipSync(makeSplit(50)[0]);

describe('downloads are verified before they are cached, retried when transient, and cut off only when idle', () => {
  let server: http.Server;
  let base: string;
  let cacheRoot: string;
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const fast = { retryDelaysMs: [10, 20, 40] };

  before(async () => {
    server = http.createServer((request, response) => {
      const name = new URL(request.url!, 'http://x').pathname.split('/').pop()!;
      const hit = (hits.get(name) ?? 0) + 1;
      hits.set(name, hit);
      const handler = routes.get(name);
      if (!handler) {
        response.writeHead(404);
        response.end();
        return;
      }
      handler(request, response, hit);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(async () => {
    routes.clear();
    hits.clear();
    cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'download-cache-'));
  });

  const whole = (body: Buffer): Handler => (_request, response) => {
    response.writeHead(200, { 'content-length': String(body.length) });
    response.end(body);
  };
  /** Half the body, no Content-Length, then the connection closes: HTTP/1.0-style framing. */
  const half = (body: Buffer): Handler => (_request, response) => {
    const socket = response.socket!;
    socket.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n');
    socket.end(body.subarray(0, body.length >> 1));
  };
  const source = (options: { idleMs?: number } = {}) =>
    new HttpDataSource(base, cacheRoot, { ...fast, ...options });

  test('a body cut short without a Content-Length is refused, never cached, and fetched again once', async () => {
    routes.set('labels.gz', half(LABELS));
    const data = source();
    await assert.rejects(data.read('labels.gz'), (error: unknown) =>
      error instanceof JobError && /labels\.gz: corrupt or truncated gzip data .*; not cached/.test(error.message));
    assert.equal(hits.get('labels.gz'), 2, 'fetched once more after the first bad body');
    assert.deepEqual(await readdir(data.cacheDir), [], 'neither the half file nor a temporary file is left');
    // The server recovers: the next run gets the whole file.
    routes.set('labels.gz', whole(LABELS));
    assert.deepEqual(await source().read('labels.gz'), LABELS);
  });

  test('a half file an older version cached (no recorded SHA-256) is verified, removed and fetched again', async () => {
    routes.set('labels.gz', whole(LABELS));
    const data = source();
    await mkdir(data.cacheDir, { recursive: true });
    await writeFile(path.join(data.cacheDir, 'labels.gz'), LABELS.subarray(0, LABELS.length >> 1));
    assert.deepEqual(await data.read('labels.gz'), LABELS);
    assert.equal(hits.get('labels.gz'), 1);
    assert.deepEqual(await readFile(path.join(data.cacheDir, 'labels.gz')), LABELS);
    // Its SHA-256 is now recorded: a later read trusts it without asking the server.
    assert.deepEqual(await source().read('labels.gz'), LABELS);
    assert.equal(hits.get('labels.gz'), 1);
  });

  test('a cached file damaged after it was cached no longer matches its SHA-256 and is fetched again', async () => {
    routes.set('labels.gz', whole(LABELS));
    const data = source();
    await data.read('labels.gz');
    const cached = path.join(data.cacheDir, 'labels.gz');
    await writeFile(cached, Buffer.concat([LABELS, Buffer.from('junk')]));
    assert.deepEqual(await source().read('labels.gz'), LABELS);
    assert.equal(hits.get('labels.gz'), 2);
  });

  test('a raw IDX file cut short is refused too (its header implies its length)', async () => {
    const raw = makeSplit(50)[1];
    routes.set('train-labels-idx1-ubyte', half(raw));
    await assert.rejects(source().read('train-labels-idx1-ubyte'), /cut short: has \d+ bytes, its IDX header implies 58/);
  });

  test('fewer bytes than the Content-Length announced are retried, then refused', async () => {
    routes.set('labels.gz', (_request, response) => {
      response.writeHead(200, { 'content-length': String(LABELS.length) });
      response.write(LABELS.subarray(0, 10));
      response.socket!.destroySoon();
    });
    const data = source();
    await assert.rejects(data.read('labels.gz'), (error: unknown) => error instanceof JobError && error.message.includes(`download ${base}labels.gz:`) && /\(4 tries\)/.test(error.message));
    assert.equal(hits.get('labels.gz'), 4);
    assert.deepEqual(await readdir(data.cacheDir), []);
  });

  test('HTTP 503 and 429 are retried with backoff; Retry-After is honoured', async () => {
    routes.set('labels.gz', (request, response, hit) => {
      if (hit === 1) {
        response.writeHead(503);
        response.end('busy');
      } else if (hit === 2) {
        response.writeHead(429, { 'retry-after': '1' });
        response.end('slow down');
      } else whole(LABELS)(request, response, hit);
    });
    const started = Date.now();
    assert.deepEqual(await source().read('labels.gz'), LABELS);
    assert.equal(hits.get('labels.gz'), 3);
    assert.ok(Date.now() - started >= 1000, 'waited for Retry-After: 1');
  });

  test('a server that keeps answering 5xx fails after a bounded number of tries, naming the status', async () => {
    routes.set('labels.gz', (_request, response) => {
      response.writeHead(502);
      response.end();
    });
    await assert.rejects(source().read('labels.gz'), (error: unknown) =>
      error instanceof JobError && error.message === `download ${base}labels.gz: HTTP 502 Bad Gateway (4 tries)`);
    assert.equal(hits.get('labels.gz'), 4);
  });

  test('a download that stalls after 1000 bytes is cut off by the inactivity limit, and says how to raise it', { timeout: 10_000 }, async () => {
    routes.set('images.gz', (_request, response) => {
      response.writeHead(200, { 'content-length': String(IMAGES.length) });
      response.write(IMAGES.subarray(0, 1000));
    });
    const data = source({ idleMs: 300 });
    const started = Date.now();
    await assert.rejects(data.read('images.gz'), (error: unknown) =>
      error instanceof JobError &&
      error.message === `download ${base}images.gz: no data for 0.3 s; the server stalled (raise MIXUP_DOWNLOAD_IDLE_SECONDS for a slow link)`);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(await readdir(data.cacheDir), []);
  });

  test('a slow download that keeps moving is never cut, however long it takes in all', { timeout: 10_000 }, async () => {
    routes.set('images.gz', (_request, response) => {
      response.writeHead(200, { 'content-length': String(IMAGES.length) });
      const step = Math.ceil(IMAGES.length / 8);
      let sent = 0;
      const timer = setInterval(() => {
        response.write(IMAGES.subarray(sent, sent + step));
        sent += step;
        if (sent >= IMAGES.length) {
          clearInterval(timer);
          response.end();
        }
      }, 100);
    });
    // 8 chunks 100 ms apart: 800 ms in all, far over the 300 ms limit, never 300 ms without a byte.
    assert.deepEqual(await source({ idleMs: 300 }).read('images.gz'), IMAGES);
  });

  test('the inactivity limit comes from MIXUP_DOWNLOAD_IDLE_SECONDS; a bad value is one usage line', () => {
    assert.equal(downloadIdleMs({}), 60_000);
    assert.equal(downloadIdleMs({ MIXUP_DOWNLOAD_IDLE_SECONDS: '2.5' }), 2500);
    for (const bad of ['0', '-1', 'soon', '1e9']) {
      assert.throws(() => downloadIdleMs({ MIXUP_DOWNLOAD_IDLE_SECONDS: bad }), (error: unknown) =>
        error instanceof UsageError && error.message.startsWith(`MIXUP_DOWNLOAD_IDLE_SECONDS="${bad}": must be a number of seconds`));
    }
    assert.throws(() => openDataSource(base, { MIXUP_DOWNLOAD_IDLE_SECONDS: 'x' }, { cacheDir: cacheRoot }), UsageError);
  });

  test('an aborted download stops at once with an InterruptedError and leaves nothing behind', { timeout: 10_000 }, async () => {
    routes.set('images.gz', (_request, response) => {
      response.writeHead(200);
      response.write(IMAGES.subarray(0, 1000));
    });
    const data = source();
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGTERM'), 200);
    const started = Date.now();
    await assert.rejects(data.read('images.gz', { signal: stop.signal }), (error: unknown) =>
      error instanceof InterruptedError && error.message === `download ${base}images.gz stopped by SIGTERM`);
    assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`);
    assert.deepEqual(await readdir(data.cacheDir), []);
  });

  test('a file that the source\'s SHA256SUMS lists with another SHA-256 is refused and not cached', async () => {
    routes.set('SHA256SUMS', whole(Buffer.from(formatSha256Sums({ 'labels.gz': sha256Hex(Buffer.from('other')) }))));
    routes.set('labels.gz', whole(LABELS));
    const data = source();
    await assert.rejects(data.read('labels.gz'), /labels\.gz: SHA-256 [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}; not cached/);
    assert.equal(existsSync(path.join(data.cacheDir, 'labels.gz')), false);
  });

  test('a standard-size file with other contents is refused at download, not cached to fail every later run', async () => {
    const labels = Buffer.alloc(8 + 10_000);
    labels.writeUInt32BE(2049, 0);
    labels.writeUInt32BE(10_000, 4);
    routes.set('t10k-labels-idx1-ubyte.gz', whole(gzipSync(labels)));
    const data = source();
    await assert.rejects(data.read('t10k-labels-idx1-ubyte.gz'), /has the standard size \(10000 samples\) but its contents' SHA-256 is [0-9a-f]{64}, expected 0402a96d/);
    assert.equal(existsSync(path.join(data.cacheDir, 't10k-labels-idx1-ubyte.gz')), false);
  });

  after(() => rm(cacheRoot, { recursive: true, force: true }));
});
