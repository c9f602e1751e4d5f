/**
 * Every JSON document read back from storage is parsed with its schema: a damaged or foreign
 * metrics.json, sweep.json, checkpoint state or manifest is one line naming the object and the
 * field, and through the CLI exit 1 — never a TypeError and a stack.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadModel } from '../../job/artifacts/model-io.js';
import { readCheckpoint } from '../../job/checkpoint.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import { CHECKPOINT_STATE, MANIFEST_KEY, RUN_FILES, SWEEP_FILE } from '../../job/shared/layout.js';
import { LocalStorage } from '../../job/storage/local.js';
import { readManifest, writeManifest } from '../../job/storage/manifest.js';
import { main } from '../../scripts/cli.js';
import { readRun } from '../../scripts/results/read.js';
import { readSweepRecord } from '../../scripts/sweep/record.js';
import { fixtureSweepRecord, writeFixtureRun } from './sweep-fixtures.js';

/** Runs the user's CLI in this process and returns its exit code and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'mixup', ...args]), stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
  }
}

describe('JSON read back from storage', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-stored-json-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a foreign sweep.json names the file and the field; `mixup results` exits 1 with one line', async () => {
    const sweep = new LocalStorage(path.join(dir, 'sweeps', 'foreign'));
    const record = fixtureSweepRecord('foreign', [0], [1], sweep.child('runs').uri);
    await sweep.write(SWEEP_FILE, JSON.stringify({ ...record, runs: [{ index: 0, alpha: 'zero', seed: 1, runId: 'r' }] }), 'application/json');
    await assert.rejects(readSweepRecord(sweep), (error: Error) => {
      assert.ok(error instanceof JobError);
      assert.equal(error.message, `${sweep.uriOf(SWEEP_FILE)} is not a version 1, 2 or 3 sweep record: runs.0.alpha: Invalid input: expected number, received string`);
      return true;
    });
    const { code, stderr } = await cli(['results', '--sweep', 'foreign', '--results', dir]);
    assert.equal(code, 1);
    assert.match(stderr, /^mixup: .*sweep\.json is not a version 1, 2 or 3 sweep record: runs\.0\.alpha: .*\n$/);
  });

  test('a damaged sweep.json (not JSON) is one line too', async () => {
    const sweep = new LocalStorage(path.join(dir, 'sweeps', 'damaged'));
    await sweep.write(SWEEP_FILE, '{"version": 1, "runs": [', 'application/json');
    const { code, stderr } = await cli(['results', '--sweep', 'damaged', '--results', dir]);
    assert.equal(code, 1);
    assert.match(stderr, /^mixup: .*sweep\.json is not valid JSON, so not a version 1, 2 or 3 sweep record \(damaged or cut short\?\): .*\n$/);
  });

  test('a foreign metrics.json behind a sound manifest leaves the run out as invalid, naming the field', async () => {
    const run = new LocalStorage(path.join(dir, 'runs', 'alpha-0.2_seed-1'));
    await writeFixtureRun(run, { alpha: 0.2, seed: 1, mixup: 0.8, baseline: 0.8 });
    const metrics = JSON.parse((await run.read(RUN_FILES.metrics)).toString('utf8'));
    await run.write(RUN_FILES.metrics, JSON.stringify({ ...metrics, arms: { mixup: { test: { accuracy: '80 %' } } } }), 'application/json');
    await writeManifest(run, 'alpha-0.2_seed-1', [RUN_FILES.metrics]);
    const result = await readRun(run, 'alpha-0.2_seed-1', { alpha: 0.2, seed: 1 });
    assert.equal(result.state, 'invalid');
    assert.deepEqual(result.problems, [
      `${run.uriOf(RUN_FILES.metrics)} is not a version 1 or 2 metrics.json: arms.mixup.history: Invalid input: expected array, received undefined`,
    ]);
  });

  test('a complete run whose metrics.json is foreign: `mixup run` exits 1 naming the field', async () => {
    const out = path.join(dir, 'out');
    const run = new LocalStorage(path.join(out, 'done'));
    await run.write(RUN_FILES.metrics, JSON.stringify({ version: 1, runId: 'done' }), 'application/json');
    await writeManifest(run, 'done', [RUN_FILES.metrics]);
    const config = resolveRunConfig({ out, runId: 'done' }, {});
    // Not "already complete": a run with a manifest is complete only when it verifies, and this one names why not.
    await assert.rejects(runExperiment(config, { reporter: { event() {}, step() {}, epoch() {}, close() {} } }), (error: unknown) =>
      (error as Error).message.includes(`${run.uriOf(RUN_FILES.metrics)} is not a version 1 or 2 metrics.json: config: Invalid input: expected object, received undefined`) &&
      (error as Error).message.includes('--discard-checkpoint'));
    const { code, stderr } = await cli(['run', '--out', out, '--run-id', 'done']);
    assert.equal(code, 1);
    assert.match(stderr, /metrics\.json is not a version 1 or 2 metrics\.json: config: /);
    assert.equal(stderr.trim().split('\n').filter((line) => line.startsWith('mixup: ')).length, 1);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack');
  });

  test('a foreign checkpoint state names the file and the field', async () => {
    const run = new LocalStorage(path.join(dir, 'runs', 'resumed'));
    await run.write(CHECKPOINT_STATE, JSON.stringify({ version: 1, runId: 'resumed', savedAt: 'now', completed: {}, current: null, tensors: null }), 'application/json');
    await assert.rejects(readCheckpoint(run), {
      message: `${run.uriOf(CHECKPOINT_STATE)} is not a version 1 checkpoint state: config: Invalid input: expected object, received undefined; start again with --discard-checkpoint to train this run from scratch`,
    });
    await run.write(CHECKPOINT_STATE, JSON.stringify({ version: 3 }), 'application/json');
    await assert.rejects(readCheckpoint(run), { message: /state\.json is not a version 2 checkpoint state: version: / });
  });

  test('a damaged model.json (the shared initial weights a resumed run loads) names the file and the field', async () => {
    const run = new LocalStorage(path.join(dir, 'runs', 'model'));
    await run.write(`${RUN_FILES.models}/initial/model.json`, JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: 'weights.bin' }] }), 'application/json');
    await assert.rejects(loadModel(run, `${RUN_FILES.models}/initial`), {
      message: `${run.uriOf(`${RUN_FILES.models}/initial/model.json`)} is not a saved tfjs model: weightsManifest.0.paths: Invalid input: expected array, received string`,
    });
  });

  test('a foreign manifest names the file and the field', async () => {
    const run = new LocalStorage(path.join(dir, 'runs', 'manifest'));
    await run.write(MANIFEST_KEY, JSON.stringify({ version: 1, runId: 'm', createdAt: '', objects: [{ key: 'a', size: -1, sha256: '', contentType: 'x' }] }), 'application/json');
    await assert.rejects(readManifest(run), { message: /manifest\.json is not a version 1 manifest: objects\.0\.size: / });
  });
});
