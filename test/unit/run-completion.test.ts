/**
 * A run with a manifest is complete only when the manifest verifies and the run is the one asked for:
 * damaged derived objects are made again, damaged training results are trained again under
 * --discard-checkpoint, and a run whose run.json is gone is checked against its metrics.json.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import type { Reporter } from '../../job/progress.js';
import type { RunConfig } from '../../job/shared/run-settings.js';
import { LocalStorage } from '../../job/storage/local.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { runNumbers } from '../support/golden.js';

function reporter(events: string[] = []): Reporter {
  return { event: (name) => events.push(name), step() {}, epoch() {}, close() {} };
}

describe('a complete run is verified before it is trusted', () => {
  let dir: string;
  let data: string;
  const out = () => path.join(dir, 'runs');
  const config = (runId: string, overrides: Record<string, string> = {}): RunConfig =>
    resolveRunConfig({ epochs: '1', batchSize: '32', valSamples: '64', seed: '5', backend: 'wasm', parallelArms: 'off', data, out: out(), runId, ...overrides }, {});
  const file = (runId: string, key: string) => path.join(out(), runId, key);
  async function verifies(runId: string): Promise<void> {
    const run = new LocalStorage(path.join(out(), runId));
    assert.deepEqual(await verifyManifest(run, (await readManifest(run))!), []);
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'run-completion-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('bytes appended to a weights file: not "already complete"; one line naming it and --discard-checkpoint, which trains it again to the same numbers', async () => {
    const first = await runExperiment(config('w'), { reporter: reporter() });
    await appendFile(file('w', 'models/mixup/weights.bin'), 'junk');
    await assert.rejects(runExperiment(config('w'), { reporter: reporter() }), (error: unknown) =>
      error instanceof JobError &&
      error.message.includes(`${file('w', 'models/mixup/weights.bin')} has `) &&
      error.message.includes('bytes; the manifest says') &&
      error.message.endsWith('start it again with --discard-checkpoint to train it from scratch (same settings, same numbers)'));
    const events: string[] = [];
    const again = await runExperiment(config('w'), { reporter: reporter(events), discardCheckpoint: true });
    assert.equal(again.status, 'completed');
    assert.ok(events.includes('damaged') && events.includes('retrain'), events.join(' '));
    assert.deepEqual(runNumbers(again.metrics!), runNumbers(first.metrics!));
    await verifies('w');
    assert.equal((await runExperiment(config('w'), { reporter: reporter() })).status, 'already-complete');
  });

  test('a complete run whose run.json is gone is checked against its metrics.json: other settings are refused', async () => {
    await runExperiment(config('i'), { reporter: reporter() });
    await rm(file('i', 'run.json'));
    await assert.rejects(runExperiment(config('i', { epochs: '3', seed: '9' }), { reporter: reporter() }), (error: unknown) =>
      error instanceof JobError &&
      error.message === `run i at ${path.join(out(), 'i')} was trained with other settings, by its metrics.json (epochs 1 → 3, seed 5 → 9); use a new --run-id`);
    // The same settings: run.json is made again from the data and the manifest written again.
    const events: string[] = [];
    const repaired = await runExperiment(config('i'), { reporter: reporter(events) });
    assert.equal(repaired.status, 'repaired');
    assert.ok(events.includes('repaired'));
    assert.equal(JSON.parse(await readFile(file('i', 'run.json'), 'utf8')).settings.seed, 5);
    await verifies('i');
    assert.equal((await runExperiment(config('i'), { reporter: reporter() })).status, 'already-complete');
  });

  test('damaged history.csv, curves.png and samples.png are made again without training', async () => {
    await runExperiment(config('d'), { reporter: reporter() });
    const before = await readFile(file('d', 'history.csv'), 'utf8');
    for (const key of ['history.csv', 'curves.png', 'samples.png']) await writeFile(file('d', key), 'damaged');
    const result = await runExperiment(config('d'), { reporter: reporter() });
    assert.equal(result.status, 'repaired');
    assert.equal(await readFile(file('d', 'history.csv'), 'utf8'), before);
    await verifies('d');
  });

  test('a deleted metrics.json is named, not "already complete" then "not found"', async () => {
    await runExperiment(config('m'), { reporter: reporter() });
    await rm(file('m', 'metrics.json'));
    await assert.rejects(runExperiment(config('m'), { reporter: reporter() }), (error: unknown) =>
      error instanceof JobError &&
      error.message.includes(`${file('m', 'metrics.json')} is listed in the manifest but missing`) &&
      /--discard-checkpoint/.test(error.message));
    assert.equal((await runExperiment(config('m'), { reporter: reporter(), discardCheckpoint: true })).status, 'completed');
    await verifies('m');
  });

  test('a manifest copied from another run id is refused', async () => {
    await runExperiment(config('x'), { reporter: reporter() });
    const manifest = JSON.parse(await readFile(file('x', 'manifest.json'), 'utf8'));
    await writeFile(file('x', 'manifest.json'), JSON.stringify({ ...manifest, runId: 'other' }));
    await assert.rejects(runExperiment(config('x'), { reporter: reporter() }), /run x at .*: its manifest\.json names run other; use a new --run-id/);
  });
});
