/** mixup sweep --executor local: the plan, the children's environment, the cores (sweep.test.ts: on AWS Batch). */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';

import type { ChildLike } from '../../scripts/sweep/deps.js';
import { defaultConcurrency, localThreadEnvironment, planSweep } from '../../scripts/sweep/plan.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import { resolveSweepData } from '../../scripts/sweep/data-location.js';
import { recorder } from './sweep-recorder.js';

class FakeChild extends EventEmitter implements ChildLike {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: NodeJS.Signals[] = [];
  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    this.emit('signal', signal);
    return true;
  }
}

describe('sweep on this machine', () => {
  test('runs every grid point as `mixup run` with the grid in its environment, N at a time', async () => {
    const spawned: { command: string; args: readonly string[]; env: NodeJS.ProcessEnv }[] = [];
    let running = 0;
    let peak = 0;
    const rec = recorder({
      env: { PATH: '/bin', MIXUP_ALPHA: '9', AWS_BATCH_JOB_ID: 'stale', AWS_REGION: 'eu-west-1', MIXUP_ALLOW_UNSAFE_STORE: '1' },
      spawn: (command, args, { env }) => {
        spawned.push({ command, args, env });
        const child = new FakeChild();
        running++;
        peak = Math.max(peak, running);
        setTimeout(() => {
          child.stdout.end(`training ${env.AWS_BATCH_JOB_ARRAY_INDEX}\n`);
          child.stderr.end();
          running--;
          child.emit('close', env.AWS_BATCH_JOB_ARRAY_INDEX === '2' ? 1 : 0, null);
        }, 5);
        return child;
      },
    });
    const outcome = await sweep(
      { alphas: [0, 0.2], seeds: [1, 2], executor: 'local', concurrency: 2, results: '/tmp/res', sweepId: 'loc', settings: { epochs: 1 } },
      rec.deps,
    );
    assert.equal(spawned.length, 4);
    assert.equal(peak, 2);
    assert.deepEqual(spawned[0]!.args, ['cli.js', 'run']);
    assert.equal(spawned[0]!.command, '/usr/bin/node');
    assert.deepEqual(spawned.map((s) => s.env.AWS_BATCH_JOB_ARRAY_INDEX).sort(), ['0', '1', '2', '3']);
    const env = spawned[0]!.env;
    assert.equal(env.MIXUP_GRID_ALPHAS, '0,0.2');
    assert.equal(env.MIXUP_GRID_SEEDS, '1,2');
    assert.equal(env.MIXUP_OUT, '/tmp/res/sweeps/loc/runs');
    assert.equal(env.MIXUP_EPOCHS, '1');
    assert.equal(env.MIXUP_ALPHA, undefined, "the user's MIXUP_* variables do not leak into the grid");
    assert.equal(env.MIXUP_ALLOW_UNSAFE_STORE, '1', 'the opt-in for a store that ignores conditional writes does');
    assert.equal(env.AWS_BATCH_JOB_ID, undefined);
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.PATH, '/bin');
    assert.deepEqual(outcome.failed, ['mixup_alpha-0.2_seed-1']);
    assert.deepEqual(outcome.final, { SUCCEEDED: 3, FAILED: 1 });
    assert.ok(rec.logs.includes('[baseline_seed-2] training 1'));
    assert.equal(env.MIXUP_GRID_LAYOUT, 'shared-baselines');
    assert.ok(rec.logs.some((line) => /\[mixup_alpha-0.2_seed-1\] exited with code 1/.test(line)));
    assert.ok(rec.objects.has('/tmp/res/sweeps/loc/sweep.json'));
    assert.equal(rec.submitted.length, 0);
  });

  test('the local executor needs no AWS and defaults results to the current directory', async () => {
    const rec = recorder({
      ssm: () => { throw new Error('SSM must not be used'); },
      spawn: () => {
        const child = new FakeChild();
        setImmediate(() => child.emit('close', 0, null));
        return child;
      },
    });
    rec.deps = { ...rec.deps, batch: () => { throw new Error('Batch must not be used'); } };
    rec.deps = { ...rec.deps, env: { FASHION_MNIST_DIR: 'fm' } };
    const outcome = await sweep({ alphas: [0.2], seeds: [1], executor: 'local', sweepId: 'here' }, rec.deps);
    assert.equal(outcome.sweepUri, './sweeps/here/sweep.json');
    // Without --data, what `mixup run` would read here, resolved: a rerun elsewhere reads the same data.
    assert.equal(outcome.record.data, path.resolve('fm'));
    assert.equal(outcome.record.environment.MIXUP_DATA, path.resolve('fm'));
  });

  test('a relative --data is recorded (and passed to the runs) as an absolute path; URIs as given', async () => {
    const rec = recorder({
      spawn: () => {
        const child = new FakeChild();
        setImmediate(() => child.emit('close', 0, null));
        return child;
      },
    });
    const local = await sweep({ alphas: [0.2], seeds: [1], executor: 'local', sweepId: 'rel', results: '/tmp/res', data: './data' }, rec.deps);
    assert.equal(local.record.data, path.resolve('data'));
    assert.equal(local.record.environment.MIXUP_DATA, path.resolve('data'));
    assert.equal(resolveSweepData('s3://b/fm', 'local', {}), 's3://b/fm');
    assert.equal(resolveSweepData('https://h/fm/', 'batch', {}), 'https://h/fm/');
    assert.equal(resolveSweepData(undefined, 'batch', {}), null);
    assert.equal(resolveSweepData('data', 'local', {}, '/work/a'), '/work/a/data');
  });
});

describe('local sweep and the cores', () => {
  test('the default concurrency is one child per core', () => {
    assert.equal(defaultConcurrency(2), 2);
    assert.equal(defaultConcurrency(16), 16);
    assert.equal(planSweep({ alphas: [0.2], seeds: [1, 2], executor: 'local' }, new Date(0)).concurrency, defaultConcurrency());
    assert.equal(planSweep({ alphas: [0.2], seeds: [1, 2], executor: 'batch' }, new Date(0)).concurrency, 1);
  });

  test('children train their arms at once only where each still gets a core per arm', () => {
    const plan = (concurrency: number, settings = {}) => planSweep({ alphas: [0.2], seeds: [1], executor: 'local', concurrency, settings }, new Date(0));
    assert.deepEqual(localThreadEnvironment(plan(2), 2), { MIXUP_PARALLEL_ARMS: 'off' }, '2 children on 2 cores: one thread each');
    assert.deepEqual(localThreadEnvironment(plan(1), 2), {}, '1 child on 2 cores: both arms at once');
    assert.deepEqual(localThreadEnvironment(plan(4), 8), {});
    assert.deepEqual(localThreadEnvironment(plan(2, { parallelArms: 'on' }), 2), {}, 'an explicit --parallel-arms goes through as given');
  });
});
