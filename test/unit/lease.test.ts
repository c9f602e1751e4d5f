/**
 * One holder per run id on a directory: a second start exits naming the holder, a
 * stale lease or an earlier attempt of the same Batch job is taken over, a holder that lost its lease
 * stops without writing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { RunConfig } from '../../job/shared/run-settings.js';
import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import type { Reporter } from '../../job/progress.js';
import { conditionalObject, honoursConditionalWrites, type ConditionalObject } from '../../job/storage/conditional.js';
import { acquireLease, allowUnsafeStoreFrom, LEASE_KEY } from '../../job/storage/lease.js';
import { LocalStorage } from '../../job/storage/local.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';

const quiet: Reporter = { event() {}, step() {}, epoch() {}, close() {} };

describe('run lease on a directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-lease-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a second holder is refused with one line naming the first; after release it may start', async () => {
    const run = new LocalStorage(path.join(dir, 'r1'));
    const first = await acquireLease(run, { runId: 'r1', env: {} });
    await assert.rejects(acquireLease(run, { runId: 'r1', env: {} }), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.match(error.message, new RegExp(`^run r1 is in use by pid ${process.pid} on ${os.hostname()} \\(lease renewed \\d+ s ago, .*lease\\.json\\)`));
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    await first.release();
    assert.equal(await run.exists(LEASE_KEY), false);
    const second = await acquireLease(run, { runId: 'r1', env: {} });
    await second.release();
  });

  test('a directory honours conditional writes: the probe passes, leaves nothing, and the run needs no opt-in', async () => {
    const run = new LocalStorage(path.join(dir, 'r-probe'));
    assert.equal(await honoursConditionalWrites(conditionalObject(run, 'probe.json')), true);
    const told: string[] = [];
    const lease = await acquireLease(run, { runId: 'r-probe', env: {}, onUnsafeStore: (line) => told.push(line) });
    assert.deepEqual(told, []);
    assert.deepEqual((await run.list()).map((o) => o.key), [LEASE_KEY]);
    await lease.release();
  });

  test('the probe tells a store that overwrites on a second create from one that refuses it', async () => {
    const stored = new Map<string, string>();
    const ignoring: ConditionalObject = {
      uri: 'mem://probe',
      create: async (body) => (stored.set('k', body), 'v'),
      replace: async (body) => (stored.set('k', body), 'v'),
      read: async () => (stored.has('k') ? { body: stored.get('k')!, version: 'v' } : null),
      remove: async () => void stored.delete('k'),
      store: async () => 'mem',
    };
    assert.equal(await honoursConditionalWrites(ignoring), false);
    assert.equal(stored.size, 0, 'the probe object is removed');
    const honouring: ConditionalObject = { ...ignoring, create: async (body) => (stored.has('k') ? null : (stored.set('k', body), 'v')) };
    assert.equal(await honoursConditionalWrites(honouring), true);
  });

  test('MIXUP_ALLOW_UNSAFE_STORE is 1 or 0 (or unset); anything else is a usage error naming it', () => {
    assert.equal(allowUnsafeStoreFrom({}), false);
    assert.equal(allowUnsafeStoreFrom({ MIXUP_ALLOW_UNSAFE_STORE: '0' }), false);
    assert.equal(allowUnsafeStoreFrom({ MIXUP_ALLOW_UNSAFE_STORE: '1' }), true);
    assert.throws(() => allowUnsafeStoreFrom({ MIXUP_ALLOW_UNSAFE_STORE: 'true' }), /^UsageError: MIXUP_ALLOW_UNSAFE_STORE='true' must be 1/);
  });

  test('a stale lease (holder killed) is taken over, and said so', async () => {
    const run = new LocalStorage(path.join(dir, 'r2'));
    const dead = { token: 'x', host: 'lost-host', pid: 1, batchJobId: null, renewedAt: new Date(Date.now() - 10_000).toISOString(), ttlSeconds: 5 };
    await run.write(LEASE_KEY, JSON.stringify(dead), 'application/json');
    const previous: string[] = [];
    const lease = await acquireLease(run, { runId: 'r2', env: {}, onTakeover: (p) => previous.push(p) });
    assert.deepEqual(previous, ['pid 1 on lost-host']);
    await lease.release();
  });

  test('a fresh lease of an earlier attempt of the same AWS Batch job is taken over at once; another job\'s is not', async () => {
    const run = new LocalStorage(path.join(dir, 'r3'));
    const earlier = await acquireLease(run, { runId: 'r3', env: { AWS_BATCH_JOB_ID: 'job-1' } });
    await assert.rejects(acquireLease(run, { runId: 'r3', env: { AWS_BATCH_JOB_ID: 'job-2' } }), /in use by .*\(AWS Batch job job-1\)/);
    const retry = await acquireLease(run, { runId: 'r3', env: { AWS_BATCH_JOB_ID: 'job-1' } });
    // The earlier holder learns at its next renewal that it has lost the run.
    await earlier.renew();
    assert.throws(() => earlier.assertHeld(), /run r3 was taken over by pid \d+ on .*\(AWS Batch job job-1\)/);
    await earlier.release();
    assert.equal(await run.exists(LEASE_KEY), true, 'the loser does not remove the winner\'s lease');
    await retry.renew();
    retry.assertHeld();
    await retry.release();
  });

  test('a fresh lease whose holder was a process on this host that no longer exists is taken over at once', async () => {
    const run = new LocalStorage(path.join(dir, 'r5'));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const killed = { token: 'k', host: os.hostname(), pid: gone, batchJobId: null, renewedAt: new Date().toISOString(), ttlSeconds: 120 };
    await run.write(LEASE_KEY, JSON.stringify(killed), 'application/json');
    const previous: string[] = [];
    const lease = await acquireLease(run, { runId: 'r5', env: {}, onTakeover: (p) => previous.push(p) });
    assert.deepEqual(previous, [`pid ${gone} on ${os.hostname()}`]);
    await lease.release();
    // A live one on this host is not.
    await run.write(LEASE_KEY, JSON.stringify({ ...killed, pid: process.ppid }), 'application/json');
    await assert.rejects(acquireLease(run, { runId: 'r5', env: {} }), /in use by pid/);
  });

  test('renewal keeps the lease fresh', async () => {
    const run = new LocalStorage(path.join(dir, 'r4'));
    const lease = await acquireLease(run, { runId: 'r4', env: {} });
    const before = JSON.parse(await readFile(run.uriOf(LEASE_KEY), 'utf8')).renewedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await lease.renew();
    const after = JSON.parse(await readFile(run.uriOf(LEASE_KEY), 'utf8')).renewedAt;
    assert.ok(after > before, `${before} → ${after}`);
    lease.assertHeld();
    await lease.release();
  });
});

describe('two runs with one run id', () => {
  let dir: string;
  let data: string;
  const config = (overrides: Partial<Record<string, string>> = {}): RunConfig =>
    resolveRunConfig({ epochs: '1', batchSize: '64', valSamples: '64', seed: '5', backend: 'wasm', data, out: path.join(dir, 'runs'), ...overrides }, {});
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-lease-run-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the second start exits 1 naming the holder; the first completes alone, and the lease is gone', async () => {
    const first = runExperiment(config({ runId: 'same', alpha: '0.2' }), { reporter: quiet });
    const leaseFile = path.join(dir, 'runs', 'same', LEASE_KEY);
    for (let i = 0; i < 200; i++) {
      if (await readFile(leaseFile).then(() => true, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await assert.rejects(runExperiment(config({ runId: 'same', alpha: '0.9' }), { reporter: quiet }), (error: unknown) =>
      error instanceof JobError && error.exitCode === 1 && /^run same is in use by pid \d+ on /.test(error.message));
    const result = await first;
    assert.equal(result.status, 'completed');
    assert.equal(result.metrics!.config.alpha, 0.2);
    assert.equal(await new LocalStorage(path.join(dir, 'runs', 'same')).exists(LEASE_KEY), false);
  });

  test('a holder that loses its lease mid-training stops with exit 1 and writes no manifest', async () => {
    let steps = 0;
    const run = new LocalStorage(path.join(dir, 'runs', 'stolen'));
    const stopSignal = {
      get stopped() {
        if (++steps === 3) {
          // Another process took over (this one looked dead): its lease replaces ours.
          // Written whole and renamed into place, as a takeover's conditional write is.
          const temp = `${run.uriOf(LEASE_KEY)}.other`;
          writeFileSync(temp, JSON.stringify({ token: 'other', host: 'h2', pid: 2, batchJobId: null, renewedAt: new Date().toISOString(), ttlSeconds: 120 }));
          renameSync(temp, run.uriOf(LEASE_KEY));
        }
        return false;
      },
    };
    const env = { ...process.env };
    process.env.MIXUP_LEASE_SECONDS = '0.04';
    try {
      await assert.rejects(runExperiment(config({ runId: 'stolen', epochs: '6' }), { reporter: quiet, stopSignal }), (error: unknown) =>
        error instanceof JobError && /^run stolen was taken over by pid 2 on h2/.test(error.message));
    } finally {
      process.env = env;
    }
    assert.equal(await run.exists('manifest.json'), false);
  });
});
