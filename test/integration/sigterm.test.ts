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

  for (const parallel of ['off', 'on'] as const) {
    test(`SIGTERM (what Batch sends before SIGKILL) stops at a step, writes a checkpoint and exits 143; a restart resumes (--parallel-arms ${parallel})`, async () => {
      const data = path.join(dir, `sigterm-data-${parallel}`);
      await writeFakeFashionMnist(data, { train: 3264, test: 64, seed: 4 });
      const out = path.join(dir, `sigterm-runs-${parallel}`);
      const args = ['--import', 'tsx', CLI, 'run', '--data', data, '--out', out, '--run-id', 'r',
        '--epochs', '3', '--batch-size', '16', '--val-samples', '64', '--backend', 'wasm', '--parallel-arms', parallel];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      // The seconds epoch 1 took, per arm, once every arm in flight has finished it.
      const firstEpoch = new Promise<number[]>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          // With both arms at once, wait for both to finish epoch 1: the SIGTERM then finds two arms in flight.
          const epochs = stdout.split('\n').filter((line) => line.includes('"event":"epoch"'));
          if (epochs.length >= (parallel === 'on' ? 2 : 1)) resolve(epochs.map((line) => (JSON.parse(line) as { seconds: number }).seconds));
        });
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // A tenth of the shortest epoch 1 after the last arm finished it: about 20 of epoch 2's 200 steps
      // for that arm, while the arm ahead (it finished epoch 1 up to a third of an epoch earlier) is still
      // inside epoch 2, on a fast machine or a loaded one. A fixed 500 ms once outlasted the arm ahead's epoch 2.
      const seconds = Math.min(...(await firstEpoch));
      await new Promise((resolve) => setTimeout(resolve, Math.max(20, (seconds * 1000) / 10)));
      child.kill('SIGTERM');
      assert.equal(await exited, 143);
      assert.match(stdout, /"event":"interrupted"/);
      if (parallel === 'on') assert.match(stdout, /"event":"interrupted".*"arms":\["(mixup","baseline|baseline","mixup)"\]/);
      const resumed = mixup(args.slice(3));
      assert.equal(resumed.code, 0, resumed.stderr);
      const resumes = resumed.stdout.split('\n').filter((line) => line.includes('"event":"resume"'));
      assert.equal(resumes.length, parallel === 'on' ? 2 : 1, resumes.join('\n'));
      const resume = resumes[0];
      assert.ok(resume, 'the restart resumes');
      assert.equal(JSON.parse(resume).epoch, 1, resume);
      assert.ok(JSON.parse(resume).step > 0, `resumed mid-epoch: ${resume}`);
      assert.match(resumed.stdout, /"event":"done"/);
      // The resumed run ends with the numbers of an uninterrupted run of these settings, pinned.
      const metrics = JSON.parse(await readFile(path.join(out, 'r', 'metrics.json'), 'utf8')) as Metrics;
      assert.deepEqual(runNumbers(metrics), golden('sigterm'));
    });
  }
});
