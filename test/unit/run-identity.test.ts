/**
 * A run id reused with other settings, data or backend is refused with one line listing the differences:
 * a completed run, a run killed before its first checkpoint, and a resume.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { RunConfig } from '../../job/shared/run-settings.js';
import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import type { Reporter } from '../../job/progress.js';
import { identityDifferences, IDENTITY_KEY } from '../../job/run-identity.js';
import { LocalStorage } from '../../job/storage/local.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';

const quiet: Reporter = { event() {}, step() {}, epoch() {}, close() {} };

describe('run identity', () => {
  let dir: string;
  let data: string;
  const config = (overrides: Partial<Record<string, string>> = {}): RunConfig =>
    resolveRunConfig({ epochs: '1', batchSize: '64', valSamples: '64', seed: '5', backend: 'wasm', data, out: path.join(dir, 'runs'), ...overrides }, {});
  const refused = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof JobError, String(error));
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'));
    return true;
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-identity-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('is written before any artifact and listed in the manifest', async () => {
    const result = await runExperiment(config({ runId: 'done' }), { reporter: quiet });
    assert.equal(result.status, 'completed');
    const identity = JSON.parse(await readFile(path.join(dir, 'runs', 'done', IDENTITY_KEY), 'utf8'));
    assert.equal(identity.settings.seed, 5);
    assert.equal(identity.backend, 'wasm');
    assert.equal(Object.keys(identity.dataSha256).length, 4);
    const manifest = JSON.parse(await readFile(path.join(dir, 'runs', 'done', 'manifest.json'), 'utf8'));
    assert.ok(manifest.objects.some((o: { key: string }) => o.key === IDENTITY_KEY));
    // The spent checkpoint leaves no empty checkpoints/ behind.
    await assert.rejects(readFile(path.join(dir, 'runs', 'done', 'checkpoints')), /ENOENT/);
  });

  test('(a) a completed run started again with other alpha, seed, epochs or data is refused, naming each difference', async () => {
    await assert.rejects(runExperiment(config({ runId: 'done', alpha: '0.9' }), { reporter: quiet }), refused(/other settings \(alpha 0\.2 → 0\.9\)/));
    await assert.rejects(runExperiment(config({ runId: 'done', seed: '6', epochs: '2' }), { reporter: quiet }), refused(/\(epochs 1 → 2, seed 5 → 6\)/));
    const other = path.join(dir, 'other-data');
    await cp(data, other, { recursive: true });
    await assert.rejects(runExperiment(config({ runId: 'done', data: other }), { reporter: quiet }), refused(/\(data .*data → .*other-data\)/));
    // The same settings still find it complete.
    assert.equal((await runExperiment(config({ runId: 'done' }), { reporter: quiet })).status, 'already-complete');
  });

  test('(b) killed before its first checkpoint, then restarted with another seed: refused, models/initial untouched', async () => {
    const dies: Reporter = { ...quiet, step() { throw new Error('killed'); } };
    await assert.rejects(runExperiment(config({ runId: 'early' }), { reporter: dies }), /killed/);
    const run = new LocalStorage(path.join(dir, 'runs', 'early'));
    assert.equal(await run.exists('checkpoints/state.json'), false);
    const initial = await run.read('models/initial/weights.bin');
    await assert.rejects(runExperiment(config({ runId: 'early', seed: '6' }), { reporter: quiet }), refused(/\(seed 5 → 6\)/));
    assert.deepEqual(await run.read('models/initial/weights.bin'), initial);
    assert.equal((await runExperiment(config({ runId: 'early' }), { reporter: quiet })).status, 'completed');
  });

  test('(c) a resume with other --data contents or another --backend is refused', async () => {
    const own = path.join(dir, 'own-data');
    await cp(data, own, { recursive: true });
    let steps = 0;
    const stopSignal = { get stopped() { return ++steps > 2; } };
    // One arm after the other, so the stop lands at the third step for sure: with both arms in worker
    // threads it reaches them by message, and an arm of three steps can finish before it arrives.
    assert.equal((await runExperiment(config({ runId: 'mid', data: own, parallelArms: 'off' }), { reporter: quiet, stopSignal })).status, 'interrupted');
    await assert.rejects(runExperiment(config({ runId: 'mid', data: own, backend: 'cpu' }), { reporter: quiet }), refused(/\(backend wasm → cpu\)/));
    // Same place, other contents: caught by the checksums.
    await writeFakeFashionMnist(own, { train: 256, test: 64, seed: 4 });
    await assert.rejects(runExperiment(config({ runId: 'mid', data: own }), { reporter: quiet }), refused(/train-images-idx3-ubyte\.gz SHA-256 [0-9a-f]{12}… → [0-9a-f]{12}…/));
    await initBackend('wasm');
  });

  test('--train-limit above the data size: metrics.json records the limit used, run.json the one asked for', async () => {
    const result = await runExperiment(config({ runId: 'limit', trainLimit: '100000', arms: 'baseline' }), { reporter: quiet });
    assert.equal(result.metrics!.config.trainLimit, 192);
    assert.equal(result.metrics!.dataset.train, 192);
    const identity = JSON.parse(await readFile(path.join(dir, 'runs', 'limit', IDENTITY_KEY), 'utf8'));
    assert.equal(identity.settings.trainLimit, 100000);
    assert.equal((await runExperiment(config({ runId: 'limit', trainLimit: '100000', arms: 'baseline' }), { reporter: quiet })).status, 'already-complete');
  });

  test('differences are listed in one phrase each', () => {
    const settings = { method: 'mixup', alpha: 0.2, epochs: 1, batchSize: 64, seed: 5, valSamples: 64, trainLimit: null, arms: 'both', data: '/d' };
    assert.deepEqual(identityDifferences({ settings, backend: 'wasm' }, { settings: { ...settings, trainLimit: 10 }, backend: 'cpu' }), [
      'trainLimit none → 10',
      'backend wasm → cpu',
    ]);
  });
});
