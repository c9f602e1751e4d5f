/** `mixup sweep` on the command line: its flags, its summary, and what it loads. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Command } from 'commander';

import { UsageError } from '../../../job/errors.js';
import { register as registerSweepCommand, sweepOptionsFromFlags } from '../../../scripts/commands/sweep.js';
import { heavyPackagesLoaded } from '../../support/user-cli.js';
import { JOB_DEF, QUEUE, recorder } from '../sweep-recorder.js';

describe('sweep flags', () => {
  test('--seeds N means seeds 1…N', () => {
    assert.deepEqual(sweepOptionsFromFlags({ alphas: '0,0.2', seeds: 3, executor: 'batch', stackName: 'S' }).seeds, [1, 2, 3]);
  });

  test('--seed-list gives explicit seeds; both at once is refused', () => {
    assert.deepEqual(sweepOptionsFromFlags({ alphas: '0', seedList: '7,8', executor: 'batch', stackName: 'S' }).seeds, [7, 8]);
    assert.throws(() => sweepOptionsFromFlags({ alphas: '0', seeds: 2, seedList: '7', executor: 'batch', stackName: 'S' }), /--seeds and --seed-list both given/);
  });

  async function parse(args: string[]): Promise<{ outcome?: unknown; error?: unknown; out: string }> {
    const rec = recorder();
    const program = new Command().exitOverride();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerSweepCommand(program, () => rec.deps);
    const write = process.stdout.write;
    let out = '';
    // The test runner's own reports (bytes) pass through: the command's action awaits an import, so they can come in between.
    process.stdout.write = ((chunk: string | Uint8Array) => (typeof chunk === 'string' ? ((out += chunk), true) : write.call(process.stdout, chunk))) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'mixup', 'sweep', ...args]);
      return { out };
    } catch (error) {
      return { error, out };
    } finally {
      process.stdout.write = write;
    }
  }

  test('the command parses the documented flags', async () => {
    const { error, out } = await parse(['--alphas', '0,0.1,0.2', '--seeds', '3', '--epochs', '2', '--dry-run',
      '--job-queue', QUEUE, '--job-definition', JOB_DEF, '--results', 's3://r-bucket', '--data', 's3://d-bucket/fm', '--sweep-id', 'cli']);
    assert.equal(error, undefined);
    assert.match(out, /sweep cli, batch executor/);
    assert.match(out, /α = 0, 0.1, 0.2 × seeds = 1, 2, 3 → 9 arm trainings \(3 baselines, one per seed and shared by every α, \+ 6 mixup arms; α = 0 reads the baseline\) instead of 18/);
    assert.match(out, /--epochs 2/);
  });

  test('--dry-run of 5 α × 3 seeds plans 15 arm trainings, not 30: the baselines are shared', async () => {
    const { error, out } = await parse(['--alphas', '0,0.1,0.2,0.4,1', '--seeds', '3', '--dry-run',
      '--job-queue', QUEUE, '--job-definition', JOB_DEF, '--results', 's3://r-bucket', '--data', 's3://d-bucket/fm', '--sweep-id', 'five']);
    assert.equal(error, undefined);
    assert.match(out, /→ 15 arm trainings \(3 baselines, one per seed and shared by every α, \+ 12 mixup arms; α = 0 reads the baseline\) instead of 30/);
    assert.match(out, /job: {6}mixup-sweep-five \(array of 15\)/);
  });

  test('--dry-run of 1 α × 1 seed says one baseline and one mixup arm, in the singular', async () => {
    const { error, out } = await parse(['--alphas', '0.2', '--seeds', '1', '--dry-run',
      '--job-queue', QUEUE, '--job-definition', JOB_DEF, '--results', 's3://r-bucket', '--data', 's3://d-bucket/fm', '--sweep-id', 'one']);
    assert.equal(error, undefined);
    assert.match(out, /→ 2 arm trainings \(1 baseline, one per seed and shared by every α, \+ 1 mixup arm\) instead of 2/);
  });

  test('a bad number names the flag, the value and the rule', async () => {
    const { error } = await parse(['--alphas', '0.2', '--seeds', 'three']);
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, "--seeds 'three': must be a whole number from 1 to 10000");
    const bad = await parse(['--alphas', '0.2,x', '--seeds', '2']);
    assert.match(String(bad.error), /--alphas = '0.2,x': 'x' is not a number/);
  });

  test('counts past their ceilings are one usage line, not a RangeError from an array allocation', async () => {
    for (const [flags, message] of [
      [['--seeds', '99999999999', '--dry-run'], "--seeds '99999999999': must be a whole number from 1 to 10000"],
      [['--seeds', '2', '--executor', 'local', '--concurrency', '100000', '--dry-run'], "--concurrency '100000': must be a whole number from 1 to 256"],
      [['--seeds', '2', '--poll-seconds', '1e9', '--dry-run'], "--poll-seconds '1e9': must be > 0 and ≤ 3600"],
    ] as const) {
      const { error } = await parse(['--alphas', '0.2', ...flags]);
      assert.ok(error instanceof UsageError, `${flags.join(' ')}: ${String(error)}`);
      assert.equal(error.message, message);
    }
  });

  test('--json prints the plan as JSON', async () => {
    const { out } = await parse(['--alphas', '0.2', '--seeds', '2', '--dry-run', '--json', '--job-queue', 'q', '--job-definition', 'd', '--results', 's3://x-bucket', '--data', 's3://d-bucket/fm']);
    const parsed = JSON.parse(out);
    assert.equal(parsed.record.grid.size, 4);
    assert.equal(parsed.dryRun, true);
  });
});

describe('what mixup sweep loads', () => {
  test('a local dry run loads neither TensorFlow.js, nor an AWS SDK, nor the canvas', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['sweep', '--executor', 'local', '--methods', 'mixup,cutmix', '--alphas', '0.2', '--seeds', '2', '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /methods = mixup, cutmix/);
    assert.deepEqual(heavy, []);
  });
});
