/**
 * A local sweep stopped by SIGTERM or SIGINT: the signal reaches every running child once (so each
 * checkpoints and exits 143), nothing new starts, and running the same sweep id again continues it:
 * complete runs skipped, the others started again. Another plan under the same id is refused.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';

import { UsageError } from '../../job/errors.js';
import type { ChildLike, SweepDeps } from '../../scripts/sweep/deps.js';
import type { SweepOptions } from '../../scripts/sweep/plan.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import { memoryOpener, writeFixtureRun } from './sweep-fixtures.js';

/** A `mixup run` child that trains until told to stop, then checkpoints and exits 143 like the job. */
class Child extends EventEmitter implements ChildLike {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: NodeJS.Signals[] = [];
  args: readonly string[] = [];
  env: NodeJS.ProcessEnv = {};
  constructor(readonly index: string) {
    super();
  }
  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    if (this.signals.length === 1) setTimeout(() => this.finish(143), 5);
    return true;
  }
  finish(code: number): void {
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.emit('close', code, null));
  }
}

function harness() {
  const { objects, openStorage } = memoryOpener();
  const children: Child[] = [];
  const logs: string[] = [];
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  let subscriptions = 0;
  const deps: SweepDeps = {
    batch: () => { throw new Error('no Batch in a local sweep'); },
    ssm: () => { throw new Error('no SSM in a local sweep'); },
    openStorage,
    now: () => new Date('2026-03-04T05:06:07Z'),
    spawn: (_command, args, { env }) => {
      const child = new Child(env.AWS_BATCH_JOB_ARRAY_INDEX!);
      child.args = args;
      child.env = env;
      children.push(child);
      return child;
    },
    cli: { command: 'node', args: ['cli.js'] },
    // Where `mixup run` would find the data: a local sweep records it resolved.
    env: { FASHION_MNIST_DIR: '/data/fashion-mnist' },
    log: (line) => logs.push(line),
    sleep: async () => {},
    onSignal: (h) => {
      handler = h;
      subscriptions++;
      return () => {
        handler = undefined;
        subscriptions--;
      };
    },
  };
  /** Resolves once `n` children have started. */
  const started = async (n: number) => {
    while (children.length < n) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  return { objects, children, logs, deps, started, signal: (s: NodeJS.Signals) => handler!(s), subscriptions: () => subscriptions };
}

const OPTIONS: SweepOptions = {
  alphas: [0, 0.2, 0.4], seeds: [1], executor: 'local', concurrency: 2, results: 'mem://r', sweepId: 'stop-me', settings: { epochs: 2 },
};
const SWEEP_JSON = 'mem://r/sweeps/stop-me/sweep.json';

describe('a local sweep and SIGTERM', () => {
  test('forwards one SIGTERM to each running child, starts nothing more, and reports the runs checkpointed', async () => {
    const h = harness();
    const outcome = sweep(OPTIONS, h.deps);
    await h.started(2);
    h.signal('SIGTERM');
    const result = await outcome;
    assert.equal(h.children.length, 2, 'the third run never started');
    assert.deepEqual(h.children.map((c) => c.signals), [['SIGTERM'], ['SIGTERM']]);
    assert.equal(result.stoppedBy, 'SIGTERM');
    assert.deepEqual(result.interrupted, ['baseline_seed-1', 'mixup_alpha-0.2_seed-1']);
    assert.deepEqual(result.failed, []);
    assert.deepEqual(result.final, { INTERRUPTED: 2, PENDING: 1 });
    assert.ok(h.logs.some((l) => /SIGTERM: asking 2 running runs to checkpoint and stop; 1 not started/.test(l)), h.logs.join('\n'));
    assert.ok(h.logs.some((l) => /stopped by SIGTERM: .*2 checkpointed, 1 not started — the same command with --sweep-id stop-me continues the sweep/.test(l)));
    assert.equal(h.subscriptions(), 0, 'the signal handlers are removed when the sweep ends');
  });

  test('SIGINT does the same; a second signal is forwarded too, so the children stop at once', async () => {
    const h = harness();
    const outcome = sweep({ ...OPTIONS, concurrency: 1 }, h.deps);
    await h.started(1);
    h.signal('SIGINT');
    h.signal('SIGINT');
    const result = await outcome;
    assert.deepEqual(h.children[0]!.signals, ['SIGTERM', 'SIGTERM']);
    assert.equal(result.stoppedBy, 'SIGINT');
    assert.ok(h.logs.some((l) => /SIGINT again: stopping 1 runs at once, without checkpoints/.test(l)));
  });

  test('a child that fails while the sweep stops is failed, not checkpointed', async () => {
    const h = harness();
    const outcome = sweep(OPTIONS, h.deps);
    await h.started(2);
    h.children[1]!.kill = () => (h.children[1]!.finish(1), true);
    h.signal('SIGTERM');
    const result = await outcome;
    assert.deepEqual(result.interrupted, ['baseline_seed-1']);
    assert.deepEqual(result.failed, ['mixup_alpha-0.2_seed-1']);
  });
});

describe('running a sweep id again', () => {
  async function stoppedSweep() {
    const h = harness();
    const outcome = sweep(OPTIONS, h.deps);
    await h.started(2);
    // The first run had finished before the signal: its manifest makes it complete.
    await writeFixtureRun((await h.deps.openStorage('mem://r')).child('sweeps/stop-me/runs/baseline_seed-1'), { alpha: 0, seed: 1, baseline: 0.8 }, 'baseline_seed-1');
    h.signal('SIGTERM');
    await outcome;
    return h;
  }

  test('continues it: complete runs are skipped, the others start again with the same environment', async () => {
    const first = await stoppedSweep();
    const recorded = first.objects.get(SWEEP_JSON)!.toString();
    const second = harness();
    for (const [key, value] of first.objects) second.objects.set(key, value);
    const outcome = sweep(OPTIONS, second.deps);
    await second.started(2);
    for (const child of second.children) child.finish(0);
    const result = await outcome;
    assert.deepEqual(second.children.map((c) => c.index), ['1', '2'], 'baseline_seed-1 is complete and not run again');
    assert.deepEqual(result.skipped, ['baseline_seed-1']);
    assert.deepEqual(result.final, { SUCCEEDED: 2, SKIPPED: 1 });
    assert.equal(result.stoppedBy, undefined);
    assert.equal(second.objects.get(SWEEP_JSON)!.toString(), recorded, 'sweep.json is left as it was');
    assert.ok(second.logs.some((l) => /sweep stop-me exists with this plan: continuing it \(1 of 3 runs complete; the others start again, resuming from their checkpoints\)/.test(l)));
  });

  test('a run whose manifest no longer verifies is started again with --discard-checkpoint; the complete ones are skipped', async () => {
    const first = await stoppedSweep();
    const second = harness();
    for (const [key, value] of first.objects) second.objects.set(key, value);
    // A complete run, then one of its objects changed: its manifest is there but does not verify.
    const run = (await second.deps.openStorage('mem://r')).child('sweeps/stop-me/runs/mixup_alpha-0.2_seed-1');
    await writeFixtureRun(run, { alpha: 0.2, seed: 1, mixup: 0.9 }, 'mixup_alpha-0.2_seed-1');
    await run.write('metrics.json', '{"changed": true}', 'application/json');
    const outcome = sweep(OPTIONS, second.deps);
    await second.started(2);
    for (const child of second.children) child.finish(0);
    await outcome;
    const byIndex = Object.fromEntries(second.children.map((c) => [c.index, c.args]));
    assert.deepEqual(byIndex, { '1': ['cli.js', 'run', '--discard-checkpoint'], '2': ['cli.js', 'run'] });
    assert.ok(second.logs.some((l) => /1 whose manifest does not verify \(mixup_alpha-0\.2_seed-1\) repaired or trained again/.test(l)), second.logs.join('\n'));
  });

  test('a sweep recorded before methods (version 2) continues as it was planned: its run ids, no methods variable', async () => {
    const first = await stoppedSweep();
    const v3 = JSON.parse(first.objects.get(SWEEP_JSON)!.toString());
    const legacyId = (id: string) => id.replace(/^mixup_/, '');
    const v2 = {
      ...v3,
      version: 2,
      grid: { ...v3.grid, methods: undefined },
      runs: v3.runs.map(({ method: _method, ...run }: { method: string; runId: string }) => ({ ...run, runId: legacyId(run.runId) })),
      environment: Object.fromEntries(Object.entries(v3.environment as Record<string, string>).filter(([name]) => name !== 'MIXUP_GRID_METHODS')),
    };
    const second = harness();
    for (const [key, value] of first.objects) second.objects.set(key, value);
    second.objects.set(SWEEP_JSON, Buffer.from(JSON.stringify(v2)));
    const outcome = sweep(OPTIONS, second.deps);
    await second.started(2);
    for (const child of second.children) child.finish(0);
    const result = await outcome;
    assert.deepEqual(result.skipped, ['baseline_seed-1']);
    assert.deepEqual(result.record.runs.map((run) => run.runId), ['baseline_seed-1', 'alpha-0.2_seed-1', 'alpha-0.4_seed-1']);
    assert.ok(second.children.every((child) => child.env.MIXUP_GRID_METHODS === undefined), 'children of a version 2 sweep get no methods variable');
  });

  test('a rerun may change how many run at once', async () => {
    const first = await stoppedSweep();
    const second = harness();
    for (const [key, value] of first.objects) second.objects.set(key, value);
    const outcome = sweep({ ...OPTIONS, concurrency: 1 }, second.deps);
    await second.started(1);
    second.children[0]!.finish(0);
    await second.started(2);
    second.children[1]!.finish(0);
    assert.deepEqual((await outcome).final, { SUCCEEDED: 2, SKIPPED: 1 });
  });

  test('another grid or other settings under the same id are refused in one line listing the differences', async () => {
    const first = await stoppedSweep();
    const second = harness();
    for (const [key, value] of first.objects) second.objects.set(key, value);
    const recorded = first.objects.get(SWEEP_JSON)!.toString();
    await assert.rejects(
      sweep({ ...OPTIONS, alphas: [0, 0.2, 0.5], seeds: [1, 2], data: '/elsewhere', settings: { epochs: 3, backend: 'wasm' } }, second.deps),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(
          error.message,
          "--sweep-id 'stop-me' is taken by another plan (mem://r/sweeps/stop-me/sweep.json): --alphas 0,0.2,0.4 → 0,0.2,0.5; " +
            'seeds 1 → 1,2; --data /data/fashion-mnist → /elsewhere; --backend (default) → wasm; --epochs 2 → 3; ' +
            'give the recorded settings to continue it, or choose another id',
        );
        return true;
      },
    );
    assert.equal(second.children.length, 0);
    assert.equal(second.objects.get(SWEEP_JSON)!.toString(), recorded);
  });

  test('a damaged sweep.json under the id is one line naming it, not a TypeError', async () => {
    const h = harness();
    h.objects.set(SWEEP_JSON, Buffer.from('{"version": 1, "grid": '));
    await assert.rejects(sweep(OPTIONS, h.deps), /^JobError: mem:\/\/r\/sweeps\/stop-me\/sweep\.json is not valid JSON/);
    assert.equal(h.children.length, 0);
  });
});
