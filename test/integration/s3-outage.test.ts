/**
 * S3 faults through a TCP proxy in front of the real local S3 server: a stalled endpoint (accepts,
 * never answers) fails each attempt at the socket timeout and is retried; a short outage is waited out;
 * one longer than the budget ends in bounded time with one line naming the endpoint and the wait.
 * Timeouts and budgets come from MIXUP_S3_TIMEOUT_MS / MIXUP_S3_OUTAGE_SECONDS, shrunk here to seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import type { Reporter } from '../../job/progress.js';
import { readCheckpoint } from '../../job/checkpoint.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { openStorage } from '../../job/storage/open.js';
import type { OutageWait } from '../../job/storage/s3-retry.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const BUCKET = 'mixup-outage';
let server: S3Server;
let proxy: TcpProxy;
const savedEnv = { ...process.env };

before(async () => {
  server = await startS3Server();
  // Region and credentials come from the SDK's chains, which read process.env.
  Object.assign(process.env, server.env);
  await server.createBucket(BUCKET);
});

after(async () => {
  await server?.stop();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

function storageVia(endpoint: string, extra: Record<string, string>, waits: OutageWait[]) {
  const env = { ...process.env, ...server.env, AWS_ENDPOINT_URL: endpoint, AWS_MAX_ATTEMPTS: '2', ...extra };
  return openStorage(`s3://${BUCKET}/outage`, '--out', { env, onOutageWait: (w) => waits.push(w) });
}

describe('a stalled S3 endpoint', () => {
  test('a request to an endpoint that accepts and never answers fails its attempt at the socket timeout and is retried until it answers', async () => {
    proxy = await startTcpProxy(server.endpoint);
    const waits: OutageWait[] = [];
    const storage = storageVia(proxy.endpoint, { MIXUP_S3_TIMEOUT_MS: '300', MIXUP_S3_OUTAGE_SECONDS: '20' }, waits);
    await storage.write('a.json', '{"a":1}', 'application/json');
    proxy.setMode('stall');
    setTimeout(() => proxy.setMode('pass'), 2_000);
    const started = Date.now();
    assert.equal((await storage.read('a.json')).toString(), '{"a":1}');
    const took = Date.now() - started;
    assert.ok(took >= 1_500 && took < 12_000, `read took ${took} ms`);
    assert.ok(waits.length >= 1, 'at least one wait was reported');
    assert.ok(waits.every((w) => w.endpoint === proxy.endpoint && /TimeoutError|ECONNRESET|ETIMEDOUT/.test(w.cause)), JSON.stringify(waits));
    await proxy.cut();
  });

  test('a permanent stall ends in bounded time with one line naming the endpoint and the time waited', async () => {
    proxy = await startTcpProxy(server.endpoint);
    const waits: OutageWait[] = [];
    const storage = storageVia(proxy.endpoint, { MIXUP_S3_TIMEOUT_MS: '300', MIXUP_S3_OUTAGE_SECONDS: '2', AWS_MAX_ATTEMPTS: '1' }, waits);
    await storage.write('kept.json', '{"kept":true}', 'application/json');
    proxy.setMode('stall');
    const started = Date.now();
    await assert.rejects(storage.write('b.json', '{}', 'application/json'), (error: unknown) => {
      assert.ok(error instanceof JobError, String(error));
      assert.match(error.message, new RegExp(`^cannot reach ${proxy.endpoint} for s3://${BUCKET}/outage/b\\.json: still failing after waiting \\d+ s`));
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took < 6_000, `gave up after ${took} ms`);
    assert.ok(waits.length >= 2, `${waits.length} waits`);
    await proxy.cut();
    const direct = openStorage(`s3://${BUCKET}/outage`, '--out', { env: { ...process.env, ...server.env } });
    assert.equal((await direct.read('kept.json')).toString(), '{"kept":true}');
  });
});

describe('a short S3 outage', () => {
  test('3 s of reset connections are waited out, one reported wait per retry', async () => {
    proxy = await startTcpProxy(server.endpoint);
    const waits: OutageWait[] = [];
    const storage = storageVia(proxy.endpoint, { MIXUP_S3_TIMEOUT_MS: '1000', MIXUP_S3_OUTAGE_SECONDS: '20' }, waits);
    proxy.setMode('reset');
    setTimeout(() => proxy.setMode('pass'), 3_000);
    const started = Date.now();
    await storage.write('c.json', '{"c":3}', 'application/json');
    assert.ok(Date.now() - started >= 2_500);
    assert.equal((await storage.read('c.json')).toString(), '{"c":3}');
    assert.ok(waits.length >= 2, `${waits.length} waits`);
    assert.deepEqual(waits.map((w) => w.retryInSeconds).slice(0, 2), [1, 2]);
    await proxy.cut();
  });
});

describe('a run through an S3 outage', () => {
  let dir: string;
  let data: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-outage-run-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function runVia(runId: string, env: Record<string, string>, onEpoch: (epoch: number) => void) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const events: string[] = [];
    let epochs = 0;
    const reporter: Reporter = { event: (name) => void events.push(name), step() {}, epoch: () => onEpoch(++epochs), close() {} };
    const config = resolveRunConfig({ epochs: '2', batchSize: '64', valSamples: '64', seed: '5', backend: 'wasm', data, out: `s3://${BUCKET}/runs`, runId }, {});
    try {
      return { events, result: await runExperiment(config, { reporter }) };
    } finally {
      process.env = saved;
    }
  }

  test('3 s of reset connections after the first epoch: the run waits, then completes', async () => {
    proxy = await startTcpProxy(server.endpoint);
    const env = { AWS_ENDPOINT_URL: proxy.endpoint, MIXUP_S3_TIMEOUT_MS: '1000', MIXUP_S3_OUTAGE_SECONDS: '30' };
    const { events, result } = await runVia('survives', env, (epoch) => {
      if (epoch !== 1) return;
      proxy.setMode('reset');
      setTimeout(() => proxy.setMode('pass'), 3_000);
    });
    assert.equal(result.status, 'completed');
    assert.ok(events.filter((e) => e === 'storage-wait').length >= 2, events.join(' '));
    await proxy.cut();
  });

  test('a permanent stall after the first checkpoint ends with one line naming the endpoint; that checkpoint is intact and no manifest written', async () => {
    proxy = await startTcpProxy(server.endpoint);
    const env = { AWS_ENDPOINT_URL: proxy.endpoint, MIXUP_S3_TIMEOUT_MS: '300', MIXUP_S3_OUTAGE_SECONDS: '2', AWS_MAX_ATTEMPTS: '1' };
    const started = Date.now();
    await assert.rejects(runVia('stalls', env, (epoch) => epoch === 2 && proxy.setMode('stall')), (error: unknown) => {
      assert.ok(error instanceof JobError, String(error));
      assert.match(error.message, new RegExp(`^cannot reach ${proxy.endpoint} for s3://${BUCKET}/runs/stalls/.*: still failing after waiting \\d+ s .*start again with the same --run-id to resume$`));
      return true;
    });
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    await proxy.cut();
    const direct = openStorage(`s3://${BUCKET}/runs/stalls`, '--out', { env: { ...process.env, ...server.env } });
    const checkpoint = await readCheckpoint(direct);
    assert.equal(checkpoint?.current?.epoch, 1);
    assert.equal(await direct.exists('manifest.json'), false);
  });
});
