import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { heavyPackagesLoaded } from '../../support/user-cli.js';

const CLI = path.resolve('scripts/cli.ts');

function mixup(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mixup run on the command line', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('run --help names every option and its variable', () => {
    const { code, stdout } = mixup(['run', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /--alpha <value>[\s\S]*MIXUP_ALPHA/);
    assert.match(stdout, /--arms <value>[\s\S]*MIXUP_ARMS/);
    assert.match(stdout.replace(/\s+/g, " "), /--method <value> the augmentation the augmented arm trains with: cutmix\|mixup \(default: mixup\) \[MIXUP_METHOD\]/);
  });

  test('run --help and a refused run load neither TensorFlow.js nor an SDK: they load with the first step of a run', async () => {
    for (const args of [['run', '--help'], ['run', '--method', 'blend']]) {
      const { result, heavy } = await heavyPackagesLoaded(args);
      assert.notEqual(result.code, null);
      assert.deepEqual(heavy, [], args.join(' '));
    }
  });

  const usage: [string, string[], Record<string, string>, RegExp][] = [
    ['a negative α flag', ['run', '--alpha', '-1'], {}, /^mixup: --alpha "-1": must be ≥ 0/],
    ['a bad α variable', ['run'], { MIXUP_ALPHA: 'x' }, /^mixup: --alpha \(from MIXUP_ALPHA="x"\): must be a number/],
    ['an unknown backend', ['run', '--backend', 'tpu'], {}, /^mixup: --backend "tpu": must be one of/],
    ['an unknown option', ['run', '--bogus'], {}, /^mixup: unknown option '--bogus'/],
  ];
  for (const [what, args, env, message] of usage) {
    test(`${what} exits 2 with one line`, async () => {
      const out = path.join(dir, 'untouched');
      const { code, stderr } = mixup([...args, '--out', out], env);
      assert.equal(code, 2);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, message);
      await assert.rejects(readdir(out), 'nothing is written');
    });
  }

  test('a bad S3 URI for --out or --data is one usage line naming the flag, not "location"', () => {
    for (const flag of ['--out', '--data']) {
      const args = ['run', '--backend', 'cpu', '--out', dir, flag, 's3://Bad_Bucket/x'];
      const { code, stderr } = mixup(args, {});
      assert.equal(code, 2, stderr);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, new RegExp(`^mixup: ${flag} 's3://Bad_Bucket/x': bucket name 'Bad_Bucket' `));
    }
  });

  test('missing data exits 1 with one line naming the file', () => {
    const { code, stderr } = mixup(['run', '--data', path.join(dir, 'nowhere'), '--out', dir, '--backend', 'cpu'], {});
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    // The four files are read at once; whichever is found missing first is named.
    assert.match(stderr, /^mixup: not found: .*nowhere\/(train|t10k)-(images-idx3|labels-idx1)-ubyte\.gz\n$/);
  });
});
