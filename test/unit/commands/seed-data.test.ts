/** `mixup seed-data` on the command line: a copy from a directory to another, and what it loads. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { writeFakeFashionMnist } from '../../support/fake-dataset.js';
import { heavyPackagesLoaded } from '../../support/user-cli.js';

describe('mixup seed-data on the command line', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-seed-command-'));
    await writeFakeFashionMnist(path.join(dir, 'from'), { train: 64, test: 16 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('copies the four files and their SHA256SUMS, printing the report as JSON, without TensorFlow.js', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['seed-data', '--from', path.join(dir, 'from'), '--to', path.join(dir, 'to')], {
      allow: /^(@aws-sdk|@smithy)\//,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).files.length, 4);
    assert.equal((await readdir(path.join(dir, 'to'))).length, 5);
    assert.deepEqual(heavy, []);
  });

  test('without --to it is a usage error', async () => {
    const { result } = await heavyPackagesLoaded(['seed-data']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /required option '--to <uri>'/);
  });
});
