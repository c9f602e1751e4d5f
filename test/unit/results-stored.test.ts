/**
 * `mixup results` trusts nothing it reads back: a metrics.json whose numbers cannot be measurements,
 * or a sweep.json whose runs point outside the sweep, repeat a point or spell α as text, is named
 * in one line instead of printed as a result.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { gridRunId } from '../../job/shared/grid.js';
import { RUN_FILES, SWEEP_FILE } from '../../job/shared/layout.js';
import { LocalStorage } from '../../job/storage/local.js';
import { writeManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import { main } from '../../scripts/cli.js';
import { formatResults } from '../../scripts/results/format.js';
import { results } from '../../scripts/results/results.js';
import { fixtureSweepRecord, writeFixtureRun } from './sweep-fixtures.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [out, err] = [process.stdout.write, process.stderr.write];
  let stdout = '';
  let stderr = '';
  // The command writes text; Node's test runner reports results through stdout as binary chunks,
  // which must still reach it.
  process.stdout.write = ((chunk: string | Uint8Array) => (typeof chunk === 'string' ? ((stdout += chunk), true) : out.call(process.stdout, chunk))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (typeof chunk === 'string' ? ((stderr += chunk), true) : err.call(process.stderr, chunk))) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'mixup', ...args]), stdout, stderr };
  } finally {
    [process.stdout.write, process.stderr.write] = [out, err];
    process.exitCode = undefined;
  }
}

const deps = { openStorage, localExists: () => false, ssm: () => { throw new Error('no SSM in this test'); } };

describe('results refuse numbers that cannot be measurements', () => {
  let dir: string;
  let sweep: LocalStorage;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-results-stored-'));
    sweep = new LocalStorage(dir).child('sweeps/m') as LocalStorage;
    await sweep.write(SWEEP_FILE, JSON.stringify(fixtureSweepRecord('m', [0.2], [1, 2, 3, 4, 5], sweep.child('runs').uri)), 'application/json');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Rewrites one run's metrics.json and re-signs its manifest, as a buggy or hostile writer would. */
  async function tamper(seed: number, change: (metrics: any) => void): Promise<void> {
    const run = sweep.child(`runs/${gridRunId(0.2, seed)}`);
    await writeFixtureRun(run, { alpha: 0.2, seed, mixup: 0.86, baseline: 0.85 });
    const metrics = JSON.parse((await run.read(RUN_FILES.metrics)).toString());
    change(metrics);
    await run.write(RUN_FILES.metrics, JSON.stringify(metrics), 'application/json');
    await writeManifest(run, gridRunId(0.2, seed), ['metrics.json', 'history.csv', 'curves.png', 'samples.png']);
  }

  test('accuracy 5.0, a null accuracy, a null loss and a missing arm are invalid, named, and left out', async () => {
    await writeFixtureRun(sweep.child(`runs/${gridRunId(0.2, 1)}`), { alpha: 0.2, seed: 1, mixup: 0.86, baseline: 0.85 });
    await tamper(2, (m) => (m.arms.mixup.test.accuracy = 5.0));
    await tamper(3, (m) => (m.arms.baseline.test.accuracy = null));
    await tamper(4, (m) => (m.arms.mixup.history[1].loss = null));
    await tamper(5, (m) => delete m.arms.baseline);
    const summary = await results({ sweep: 'm', results: dir }, deps);
    const states = summary.runs.map((run) => [run.seed, run.state, run.problems.join('; ')]);
    assert.deepEqual(states[0], [1, 'complete', '']);
    assert.match(String(states[1]), /^2,invalid,.*metrics\.json is not a version 1 or 2 metrics\.json: arms\.mixup\.test\.accuracy: must be a fraction from 0 to 1$/);
    assert.match(String(states[2]), /^3,invalid,.*metrics\.json is not a version 1 or 2 metrics\.json: arms\.baseline\.test\.accuracy: .*expected number, received null$/);
    assert.match(String(states[3]), /^4,invalid,.*arms\.mixup\.history\.1\.loss: .*received null$/);
    assert.match(String(states[4]), /^5,invalid,.*metrics\.json has no baseline arm, though config\.arms is 'both'$/);
    const [row] = summary.rows;
    assert.deepEqual(row!.runs, { complete: 1, running: 0, failed: 0, incomplete: 0, invalid: 4, missing: 0 });
    assert.equal(row!.augmented!.n, 1);
    const table = formatResults(summary, 'table');
    assert.doesNotMatch(table, /500\.00|267/);
    assert.match(table, /86\.00 \(n=1\)\s+85\.00 \(n=1\)\s+\+1\.00 \(n=1\)\s+1\/5 complete, 4 invalid/);
  });
});

describe('results refuse a sweep.json that points outside the sweep or repeats a point', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-results-record-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function resultsOf(id: string, edit: (record: any) => void) {
    const sweep = new LocalStorage(dir).child(`sweeps/${id}`);
    const record: any = fixtureSweepRecord(id, [0, 0.1], [1], sweep.child('runs').uri);
    edit(record);
    await sweep.write(SWEEP_FILE, JSON.stringify(record), 'application/json');
    return cli(['results', '--sweep', id, '--results', dir]);
  }

  const cases: [string, (record: any) => void, RegExp][] = [
    ['a run id climbing out of the sweep', (r) => (r.runs[1].runId = '../../../elsewhere'),
      /runs\.1: names run "\.\.\/\.\.\/\.\.\/elsewhere" \(index 1, α = 0\.1, seed = 1\); grid point 1 is alpha-0\.1_seed-1$/],
    ['a run id with a slash', (r) => (r.runs[0].runId = 'alpha-0_seed-1/x'), /runs\.0: names run "alpha-0_seed-1\/x"/],
    ['α stored as text', (r) => { r.grid.alphas[1] = '0.1'; r.runs[1].alpha = '0.1'; }, /grid\.alphas\.1: .*expected number, received string$/],
    ['a repeated α', (r) => { r.grid.alphas = [0.1, 0.1]; r.runs[0] = { index: 0, alpha: 0.1, seed: 1, runId: 'alpha-0.1_seed-1' }; },
      /grid\.alphas: repeats 0\.1; each value may appear once$/],
    ['a repeated run', (r) => r.runs.push({ ...r.runs[1], index: 2 }), /runs: lists 3 runs; the grid has 2$/],
    ['an α outside the rule', (r) => { r.grid.alphas[1] = 2e6; r.runs[1] = { index: 1, alpha: 2e6, seed: 1, runId: 'alpha-2000000_seed-1' }; },
      /grid\.alphas\.1: α must be ≤ 1e6$/],
    ['a wrong grid size', (r) => (r.grid.size = 3), /grid\.size: is 3, but 2 α × 1 seeds = 2$/],
    ['runs that are not a list', (r) => (r.runs = 'all'), /runs: .*expected array, received string$/],
  ];
  for (const [what, edit, message] of cases) {
    test(`${what}: exit 1, one line naming sweep.json and the field`, async () => {
      const id = what.replace(/\W+/g, '-').replace(/^-|-$/g, '');
      const { code, stdout, stderr } = await resultsOf(id, edit);
      assert.equal(code, 1, stderr);
      assert.equal(stdout, '');
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr.trim(), new RegExp(`^mixup: .*sweeps/${id}/sweep\\.json is not a version 1, 2 or 3 sweep record: ${message.source}`));
    });
  }

  test('a sweep.json as mixup sweep writes it still parses', async () => {
    const { code, stderr } = await resultsOf('sound', () => {});
    assert.equal(code, 0, stderr);
  });
});
