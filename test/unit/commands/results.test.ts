/** `mixup results` on the command line: a local sweep's table, and what it loads. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { baselineRunId, armRunId } from '../../../job/shared/grid.js';
import { LocalStorage } from '../../../job/storage/local.js';
import { heavyPackagesLoaded } from '../../support/user-cli.js';
import { fixtureMethodsRecord, writeFixtureRun } from '../sweep-fixtures.js';

describe('mixup results on a local sweep', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-results-command-'));
    const sweep = new LocalStorage(dir).child('sweeps/local');
    await sweep.write('sweep.json', JSON.stringify(fixtureMethodsRecord('local', ['mixup', 'cutmix'], [0.5], [1, 2], sweep.child('runs').uri)), 'application/json');
    const runs = sweep.child('runs');
    for (const seed of [1, 2]) {
      await writeFixtureRun(runs.child(baselineRunId(seed)), { method: 'none', alpha: 0, seed, baseline: 0.85 + seed / 100 }, baselineRunId(seed));
      for (const method of ['mixup', 'cutmix']) {
        await writeFixtureRun(runs.child(armRunId(method, 0.5, seed)), { method, alpha: 0.5, seed, augmented: 0.86 + seed / 100 }, armRunId(method, 0.5, seed));
      }
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('prints a row per method and α from the current directory, loading neither TensorFlow.js, nor an AWS SDK, nor the canvas', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['results', '--sweep', 'local'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^mixup\s+0\.5\s+2\s+87\.50 ± /m);
    assert.match(result.stdout, /^cutmix\s+0\.5\s+2\s+87\.50 ± /m);
    assert.deepEqual(heavy, []);
  });

  test('--plot loads the canvas it draws with, and still no TensorFlow.js or SDK', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['results', '--sweep', 'local', '--plot', path.join(dir, 'plot.png')], { cwd: dir, allow: /^@napi-rs\/canvas$/ });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(heavy, []);
  });

  test('--format csv names the method on each row', async () => {
    const { result } = await heavyPackagesLoaded(['results', '--sweep', 'local', '--format', 'csv'], { cwd: dir });
    assert.match(result.stdout, /^method,alpha,arm,n,/);
    assert.match(result.stdout, /^cutmix,0\.5,cutmix,2,/m);
  });
});
