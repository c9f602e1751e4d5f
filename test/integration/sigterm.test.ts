import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { golden, runNumbers } from '../support/golden.js';

const CLI = path.resolve('job/cli.ts');

function mixup(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mixup run as a process under a scheduler', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-signal-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('SIGTERM (what Batch sends before SIGKILL) stops at a step, writes a checkpoint and exits 143; a restart resumes', async () => {
    const data = path.join(dir, 'sigterm-data');
    await writeFakeFashionMnist(data, { train: 3264, test: 64, seed: 4 });
    const args = ['--import', 'tsx', CLI, 'run', '--data', data, '--out', path.join(dir, 'sigterm-runs'), '--run-id', 'r',
      '--epochs', '3', '--batch-size', '16', '--val-samples', '64', '--backend', 'wasm'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const firstEpoch = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"event":"epoch"')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await firstEpoch;
    await new Promise((resolve) => setTimeout(resolve, 500)); // well inside epoch 2 (200 steps)
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.match(stdout, /"event":"interrupted"/);
    const resumed = mixup(args.slice(3));
    assert.equal(resumed.code, 0, resumed.stderr);
    const resume = resumed.stdout.split('\n').find((line) => line.includes('"event":"resume"'));
    assert.ok(resume, 'the restart resumes');
    assert.equal(JSON.parse(resume).epoch, 1, resume);
    assert.ok(JSON.parse(resume).step > 0, `resumed mid-epoch: ${resume}`);
    assert.match(resumed.stdout, /"event":"done"/);
    // The resumed run ends with the numbers of an uninterrupted run of these settings, pinned.
    const metrics = JSON.parse(await readFile(path.join(dir, 'sigterm-runs', 'r', 'metrics.json'), 'utf8')) as Metrics;
    assert.deepEqual(runNumbers(metrics), golden('sigterm'));
  });
});
