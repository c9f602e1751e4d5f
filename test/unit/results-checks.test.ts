/**
 * `mixup results` counts a run only when it is what the sweep asked for: its recorded settings, data and
 * backend, the same data contents and backend as the sweep's other runs; and one run folder that is a
 * file makes that run invalid, not the whole table fail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { LocalStorage } from '../../job/storage/local.js';
import { writeManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import type { Storage } from '../../job/storage/storage.js';
import { formatResults } from '../../scripts/results/format.js';
import { results, type ResultsDeps } from '../../scripts/results/results.js';
import { baselineRunId, gridJobs, gridRunId } from '../../job/shared/grid.js';
import { fixtureSweepRecord, writeFixtureRun } from './sweep-fixtures.js';

const deps: ResultsDeps = { openStorage, ssm: () => { throw new Error('no SSM'); }, localExists: () => false };
const KEYS = ['metrics.json', 'history.csv', 'curves.png', 'samples.png'];

describe('results checks each run against its sweep', () => {
  let dir: string;
  let runs: Storage;
  const alphas = [0.2];
  const seeds = [1, 2, 3];

  async function sweepOf(record: Partial<SweepRecord> = {}): Promise<void> {
    const sweep = new LocalStorage(dir).child('sweeps/s');
    runs = sweep.child('runs');
    await sweep.write('sweep.json', JSON.stringify({ ...fixtureSweepRecord('s', alphas, seeds, runs.uri), ...record }), 'application/json');
    for (const seed of seeds) await writeFixtureRun(runs.child(`alpha-0.2_seed-${seed}`), { alpha: 0.2, seed, mixup: 0.8 + seed / 100, baseline: 0.8 });
  }

  /** Rewrites one run's metrics.json (and its manifest, so it still verifies). */
  async function edit(seed: number, change: (metrics: Metrics) => Metrics, extra: Record<string, string> = {}): Promise<void> {
    const run = runs.child(`alpha-0.2_seed-${seed}`);
    const metrics = JSON.parse((await run.read('metrics.json')).toString()) as Metrics;
    await run.write('metrics.json', JSON.stringify(change(metrics)), 'application/json');
    for (const [key, body] of Object.entries(extra)) await run.write(key, body, 'application/json');
    await writeManifest(run, `alpha-0.2_seed-${seed}`, [...KEYS, ...Object.keys(extra)]);
  }

  const invalid = async () => {
    const summary = await results({ sweep: 's', results: dir }, deps);
    return Object.fromEntries(summary.runs.filter((run) => run.state === 'invalid').map((run) => [run.runId, run.problems.join('; ')]));
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'results-checks-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a run of other epochs copied into the sweep is invalid, naming the field', async () => {
    await sweepOf();
    await edit(2, (m) => ({ ...m, config: { ...m.config, epochs: 3 } }));
    const bad = await invalid();
    assert.deepEqual(Object.keys(bad), ['alpha-0.2_seed-2']);
    assert.match(bad['alpha-0.2_seed-2']!, /metrics\.json records other settings than the sweep's: epochs 3, the sweep's 2$/);
  });

  test('batch size, validation count and a training limit above the sweep\'s are each named', async () => {
    await sweepOf();
    await edit(1, (m) => ({ ...m, config: { ...m.config, batchSize: 32, valSamples: 50, trainLimit: 300 } }));
    // A limit at or below the sweep's is what a clamped limit records: not a difference.
    await edit(3, (m) => ({ ...m, config: { ...m.config, trainLimit: 150 } }));
    assert.deepEqual(await invalid(), {
      'alpha-0.2_seed-1': `${runs.uriOf('alpha-0.2_seed-1/metrics.json')} records other settings than the sweep's: batchSize 32, the sweep's 64; valSamples 50, the sweep's 100; trainLimit 300, the sweep's 200`,
    });
  });

  test('a run trained on other data than the sweep recorded is invalid', async () => {
    await sweepOf({ data: '/data' });
    await edit(3, (m) => ({ ...m, config: { ...m.config, data: '/elsewhere/data' } }));
    assert.match((await invalid())['alpha-0.2_seed-3']!, /data \/elsewhere\/data, the sweep's \/data$/);
  });

  test('a backend other than the one the sweep asked for is invalid; with auto, one unlike the others is', async () => {
    await sweepOf({ settings: { epochs: 2, batchSize: 64, valSamples: 100, trainLimit: 200, backend: 'cpu' } });
    await edit(1, (m) => ({ ...m, backend: 'wasm' }));
    assert.match((await invalid())['alpha-0.2_seed-1']!, /backend wasm, the sweep's cpu/);
    await sweepOf();
    await edit(2, (m) => ({ ...m, backend: 'tensorflow' }));
    assert.deepEqual(await invalid(), { 'alpha-0.2_seed-2': `${runs.child('alpha-0.2_seed-2').uri}: trained on backend tensorflow, the sweep's other runs on cpu` });
  });

  test('a run whose data contents (run.json) differ from the other runs\' is invalid, naming the file', async () => {
    await sweepOf();
    const identity = (labels: string) => JSON.stringify({
      version: 1, runId: 'x', backend: 'cpu',
      settings: { alpha: 0.2, epochs: 2, batchSize: 64, seed: 1, valSamples: 100, trainLimit: 200, arms: 'both', data: '/data' },
      dataSha256: { 'train-images-idx3-ubyte.gz': 'a'.repeat(64), 't10k-labels-idx1-ubyte.gz': labels },
    });
    for (const seed of seeds) await edit(seed, (m) => m, { 'run.json': identity((seed === 2 ? 'c' : 'b').repeat(64)) });
    assert.deepEqual(await invalid(), {
      'alpha-0.2_seed-2': `${runs.child('alpha-0.2_seed-2').uri}/run.json: trained on other data than the sweep's other runs (t10k-labels-idx1-ubyte.gz SHA-256 differ)`,
    });
  });

  test('a run folder that is a file is that run invalid, and the table still comes', async () => {
    await sweepOf();
    await rm(path.join(runs.uri, 'alpha-0.2_seed-1'), { recursive: true });
    await writeFile(path.join(runs.uri, 'alpha-0.2_seed-1'), 'x');
    const summary = await results({ sweep: 's', results: dir }, deps);
    const bad = summary.runs.find((run) => run.runId === 'alpha-0.2_seed-1')!;
    assert.equal(bad.state, 'invalid');
    assert.match(bad.problems[0]!, /alpha-0\.2_seed-1 is not a run folder: cannot \w+ .*\(ENOTDIR\)$/);
    assert.equal(summary.runs.filter((run) => run.state === 'complete').length, 2);
  });

  test('a shared baseline\'s problem is listed once, with every row it leaves out', async () => {
    const sweep = new LocalStorage(dir).child('sweeps/shared');
    const record = { ...fixtureSweepRecord('shared', [0, 0.2, 0.4], [1], sweep.child('runs').uri), version: 2 as const };
    const jobs = gridJobs(record.grid.alphas, record.grid.seeds);
    await sweep.write('sweep.json', JSON.stringify({ ...record, grid: { ...record.grid, size: jobs.length }, runs: jobs.map(({ index, alpha, seed, arms, runId }) => ({ index, alpha, seed, arms, runId })) }), 'application/json');
    await writeFixtureRun(sweep.child(`runs/${baselineRunId(1)}`), { alpha: 0, seed: 1, baseline: 0.85 }, baselineRunId(1));
    for (const alpha of [0.2, 0.4]) await writeFixtureRun(sweep.child(`runs/${gridRunId(alpha, 1)}`), { alpha, seed: 1, mixup: 0.86 });
    await sweep.child(`runs/${baselineRunId(1)}`).write('curves.png', 'changed', 'image/png');
    const text = formatResults(await results({ sweep: 'shared', results: dir }, deps), 'table');
    const lines = text.slice(text.indexOf('Invalid runs'), text.indexOf('\nrun ')).split('\n').filter((line) => line.startsWith('  '));
    assert.equal(lines.length, 1, text);
    assert.match(lines[0]!, /^ {2}baseline_seed-1, alpha-0\.2_seed-1, alpha-0\.4_seed-1: .*baseline_seed-1\/curves\.png has /);
  });
});
