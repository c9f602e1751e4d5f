/**
 * `mixup run` on bad paths and a damaged checkpoint, as a separate process: one line
 * with the path and the cause, exit 1, never a stack and "this is a bug".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { writeFakeFashionMnist } from '../support/fake-dataset.js';

const CLI = path.resolve('job/cli.ts');

function mixup(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLine(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /this is a bug/);
  assert.match(result.stderr, pattern);
}

describe('the run command on bad paths', () => {
  let dir: string;
  let data: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-fs-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const base = () => ['run', '--epochs', '1', '--val-samples', '64', '--backend', 'wasm', '--data', data];

  test('--out pointing at a file (ENOTDIR)', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    assertOneLine(mixup([...base(), '--out', file, '--run-id', 'r']), new RegExp(`^mixup: cannot \\w[\\w ]* ${file}/r.*\\((ENOTDIR|EEXIST)\\)\\n$`));
  });

  test('--out through a symlink loop (ELOOP)', async () => {
    const loop = path.join(dir, 'loop');
    await symlink(loop, loop);
    assertOneLine(mixup([...base(), '--out', path.join(loop, 'runs'), '--run-id', 'r']), /^mixup: cannot .*loop.*\((ELOOP|ENOTDIR)\)\n$/);
  });

  test('a name too long for the filesystem (ENAMETOOLONG)', () => {
    assertOneLine(mixup([...base(), '--out', path.join(dir, 'x'.repeat(300)), '--run-id', 'r']), /^mixup: cannot .*xxxx.*: the name is too long for the filesystem \(ENAMETOOLONG\)\n$/);
  });

  test('--data pointing at a file (ENOTDIR) and a data file that is a directory (EISDIR)', async () => {
    const file = path.join(dir, 'data-file');
    await writeFile(file, 'x');
    assertOneLine(mixup([...base().slice(0, -1), file, '--out', path.join(dir, 'runs'), '--run-id', 'd1']), /^mixup: cannot open .*data-file\/.*\(ENOTDIR\)\n$/);
    const odd = path.join(dir, 'odd-data');
    await writeFakeFashionMnist(odd, { train: 256, test: 64, seed: 3 });
    await rm(path.join(odd, 't10k-labels-idx1-ubyte.gz'));
    await mkdir(path.join(odd, 't10k-labels-idx1-ubyte.gz'));
    assertOneLine(mixup([...base().slice(0, -1), odd, '--out', path.join(dir, 'runs'), '--run-id', 'd2']), /^mixup: cannot read .*t10k-labels-idx1-ubyte\.gz: is a directory, not a file \(EISDIR\)\n$/);
  });

  test('a damaged checkpoint is named with what to do; --discard-checkpoint trains from scratch', async () => {
    const out = path.join(dir, 'runs');
    await mkdir(path.join(out, 'bad', 'checkpoints'), { recursive: true });
    await writeFile(path.join(out, 'bad', 'checkpoints', 'state.json'), '{"version": 1, "runId": "bad", "conf');
    const args = [...base(), '--out', out, '--run-id', 'bad'];
    assertOneLine(mixup(args), /^mixup: .*bad\/checkpoints\/state\.json is not valid JSON, so not a version 2 checkpoint state .*; start again with --discard-checkpoint to train this run from scratch\n$/);
    const again = mixup([...args, '--discard-checkpoint']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /"event":"checkpoint-discarded"/);
  });
});
