/**
 * A whole local sweep as a user runs it, against a real S3-compatible server on 127.0.0.1:
 * `mixup sweep --executor local` (2 α × 2 seeds, 1 epoch, 256 training images) and then
 * `mixup results` on what it wrote, both as separate CLI processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import { LocalStorage } from '../../job/storage/local.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import type { ResultsSummary } from '../../scripts/results/aggregate.js';
import { seedData } from '../../scripts/seed-data/seed-data.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { runUserCli } from '../support/user-cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'mixup-sweeps';
const RESULTS = `s3://${BUCKET}/results`;
const DATA = `s3://${BUCKET}/data/fashion-mnist`;
const SWEEP_ID = 'it-local';
const RUN_IDS = ['baseline_seed-1', 'baseline_seed-2', 'mixup_alpha-0.4_seed-1', 'mixup_alpha-0.4_seed-2'];

let server: S3Server;
let work: string;
let env: NodeJS.ProcessEnv;
const savedEnv = { ...process.env };

// From a scratch directory: the sweep must start its children from any working directory.
const mixup = (args: string[]) => runUserCli(args, { cwd: work, env });

describe('local sweep on S3, then results', () => {
  before(async () => {
    server = await startS3Server();
    env = {
      ...process.env,
      ...server.env,
      AWS_MAX_ATTEMPTS: '2',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // A stray setting in the user's shell must not reach the grid's runs.
      MIXUP_ALPHA: '0.9',
    };
    Object.assign(process.env, server.env);
    await server.createBucket(BUCKET);
    work = await mkdtemp(path.join(os.tmpdir(), 'sweep-local-'));
    const fake = path.join(work, 'fake');
    await writeFakeFashionMnist(fake, { train: 300, test: 100, seed: 5 });
    await seedData({ from: fake, to: DATA });
  });

  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  test('the sweep runs every grid point and the results read them all back', { timeout: 240_000 }, async () => {
    const sweep = await mixup([
      'sweep', '--executor', 'local', '--alphas', '0,0.4', '--seeds', '2', '--concurrency', '2',
      '--epochs', '1', '--batch-size', '32', '--val-samples', '44', '--backend', 'wasm',
      '--data', DATA, '--results', RESULTS, '--sweep-id', SWEEP_ID, '--json',
    ]);
    assert.equal(sweep.code, 0, sweep.stderr);
    const outcome = JSON.parse(sweep.stdout) as { record: SweepRecord; final: Record<string, number>; failed: string[] };
    assert.deepEqual(outcome.final, { SUCCEEDED: 4 });
    assert.deepEqual(outcome.record.runs.map((run) => run.runId), RUN_IDS);

    const sweepStorage = openStorage(RESULTS).child(`sweeps/${SWEEP_ID}`);
    const record = JSON.parse((await sweepStorage.read('sweep.json')).toString()) as SweepRecord;
    assert.equal(record.runsUri, `${RESULTS}/sweeps/${SWEEP_ID}/runs`);
    for (const point of record.runs) {
      const run = sweepStorage.child(`runs/${point.runId}`);
      const manifest = await readManifest(run);
      assert.ok(manifest, `${point.runId} has a manifest`);
      assert.deepEqual(await verifyManifest(run, manifest), []);
      const metrics = JSON.parse((await run.read('metrics.json')).toString()) as Metrics;
      assert.equal(metrics.config.alpha, point.alpha, `${point.runId} trained its own α`);
      assert.equal(metrics.config.seed, point.seed);
      assert.equal(metrics.config.epochs, 1);
      assert.equal(metrics.config.trainLimit, null);
      // Each child trains its job's arm only: a seed's baseline once, one mixup arm per (α > 0, seed).
      assert.deepEqual(Object.keys(metrics.arms), [point.arms]);
      assert.equal(metrics.arms[point.arms as 'mixup' | 'baseline']!.history.length, 1);
    }

    const read = await mixup(['results', '--sweep', SWEEP_ID, '--results', RESULTS, '--format', 'json', '--report']);
    assert.equal(read.code, 0, read.stderr);
    const summary = JSON.parse(read.stdout) as ResultsSummary;
    assert.deepEqual(summary.rows.map((row) => [row.alpha, row.runs.complete, row.augmented?.n, row.baseline?.n, row.difference?.n]), [
      [0, 2, 2, 2, 2],
      [0.4, 2, 2, 2, 2],
    ]);
    assert.equal(summary.report, `${RESULTS}/sweeps/${SWEEP_ID}/report.html`);
    const html = (await sweepStorage.read('report.html')).toString();
    assert.equal((html.match(/<tr data-method="mixup" data-alpha=/g) ?? []).length, 2);

    const table = await mixup(['results', '--sweep', SWEEP_ID, '--results', RESULTS]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^mixup\s+0\.4\s+2\s+\d+\.\d\d ± \d+\.\d\d\s+\d+\.\d\d ± \d+\.\d\d\s+[+-]?\d+\.\d\d ± \d+\.\d\d\s+2\/2 complete$/m);
  });

  test('a bad grid is refused with exit code 2 and nothing written', async () => {
    const bad = await mixup(['sweep', '--executor', 'local', '--alphas', '0.2,-1,0.2', '--seeds', '2', '--results', RESULTS, '--sweep-id', 'bad']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad sweep grid: 'alphas' contains -1; α must be ≥ 0.*'alphas' repeats 0.2/);
    assert.deepEqual(await openStorage(RESULTS).list('sweeps/bad'), []);
  });
});

describe('a local sweep stopped by SIGTERM, then run again', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sweep-sigterm-'));
    await writeFakeFashionMnist(path.join(dir, 'fake'), { train: 400, test: 100, seed: 6 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const sweepArgs = (epochs: string) => [
    'sweep', '--executor', 'local', '--alphas', '0,0.5', '--seeds', '1', '--epochs', epochs, '--batch-size', '16',
    '--val-samples', '44', '--backend', 'wasm', '--data', path.join(dir, 'fake'), '--results', dir, '--sweep-id', 'stopped',
    '--concurrency', '1',
  ];

  /** Starts the sweep and sends it SIGTERM once its first child has finished an epoch (so it is mid-run). */
  function sweepThenSigterm(): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'scripts/cli.ts'), ...sweepArgs('3')], {
      cwd: dir, env: { ...process.env, MIXUP_ALPHA: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!sent && /\[baseline_seed-1\] \{.*"event":"epoch"/.test(stderr)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.stdout.resume();
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  }

  test('the children checkpoint, and the same command continues the sweep', { timeout: 240_000 }, async () => {
    const runs = new LocalStorage(dir).child('sweeps/stopped/runs');
    const stopped = await sweepThenSigterm();
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: asking 1 running runs to checkpoint and stop; 1 not started/);
    assert.match(stopped.stderr, /\[baseline_seed-1\] \{.*"event":"interrupted"/);
    assert.match(stopped.stderr, /\[baseline_seed-1\] exited with code 143/);
    assert.match(stopped.stderr, /stopped by SIGTERM: .*1 checkpointed, 1 not started/);
    const first = runs.child('baseline_seed-1');
    assert.ok((await first.list('checkpoints/')).length > 0, 'the interrupted run has its checkpoint');
    assert.equal(await first.exists('manifest.json'), false);
    assert.deepEqual(await runs.child('mixup_alpha-0.5_seed-1').list(), [], 'the second run never started');

    const other = await mixupIn(dir, sweepArgs('4'));
    assert.equal(other.code, 2);
    assert.equal(other.stderr.trim().split('\n').length, 1, other.stderr);
    assert.match(other.stderr, /^mixup: --sweep-id 'stopped' is taken by another plan .*: --epochs 3 → 4; give the recorded settings/);

    const resumed = await mixupIn(dir, sweepArgs('3'));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /continuing it \(0 of 2 runs complete/);
    assert.match(resumed.stderr, /\[baseline_seed-1\] \{.*"event":"resume"/);
    // The seed's shared baseline, then the one mixup arm (α = 0.5 > 0).
    for (const [runId, arm] of [['baseline_seed-1', 'baseline'], ['mixup_alpha-0.5_seed-1', 'mixup']] as const) {
      const manifest = await readManifest(runs.child(runId));
      assert.ok(manifest, `${runId} is complete`);
      const metrics = JSON.parse((await runs.child(runId).read('metrics.json')).toString()) as Metrics;
      assert.equal(metrics.arms[arm]!.history.length, 3);
    }

    const again = await mixupIn(dir, sweepArgs('3'));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /continuing it \(2 of 2 runs complete/);
    assert.doesNotMatch(again.stderr, /\[(alpha|baseline)/, 'no run is started again');
  });
});

function mixupIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'scripts/cli.ts'), ...args], {
    cwd, env: { ...process.env, MIXUP_ALPHA: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
