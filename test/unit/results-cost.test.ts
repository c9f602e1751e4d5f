import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { baselineRunId, gridJobs, gridRunId } from '../../job/shared/grid.js';
import { PRICE_BASIS, QUEUE_REGISTRY, type QueueName } from '../../job/shared/queues.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { dollars, hourlyRange } from '../../scripts/results/cost.js';
import { formatResults } from '../../scripts/results/format.js';
import { results, type ResultsDeps } from '../../scripts/results/results.js';
import { fixtureSweepRecord, memoryOpener, writeFixtureRun } from './sweep-fixtures.js';

/**
 * A Batch sweep of α 0.2 × seeds 1, 2, 3 on `queue`, recorded before baselines were shared (version 1:
 * each job trained both arms): seeds 1 and 2 complete (407.2 s and 392.8 s, wasm), seed 3 incomplete.
 */
async function batchSweep(queue: QueueName | undefined): Promise<ResultsDeps> {
  const { openStorage } = memoryOpener();
  const sweep = openStorage('s3://results').child('sweeps/c1');
  const local = fixtureSweepRecord('c1', [0.2], [1, 2, 3], sweep.child('runs').uri);
  const batch = { jobName: 'mixup-sweep-c1', jobQueue: 'arn:q', jobDefinition: 'arn:d', arraySize: 3, jobId: null, jobArn: null };
  // `queue` undefined: a sweep.json from before the CPU queue existed.
  const record = { ...local, executor: 'batch', local: null, batch: queue ? { ...batch, queue } : batch } as SweepRecord;
  await sweep.write('sweep.json', JSON.stringify(record), 'application/json');
  const runs = sweep.child('runs');
  await writeFixtureRun(runs.child('alpha-0.2_seed-1'), { alpha: 0.2, seed: 1, mixup: 0.86, baseline: 0.87, wallSeconds: 407.2, backend: 'wasm' });
  await writeFixtureRun(runs.child('alpha-0.2_seed-2'), { alpha: 0.2, seed: 2, mixup: 0.85, baseline: 0.86, wallSeconds: 392.8, backend: 'wasm' });
  await writeFixtureRun(runs.child('alpha-0.2_seed-3'), { alpha: 0.2, seed: 3, mixup: 0.85, baseline: 0.86, state: 'incomplete' });
  return { openStorage, ssm: () => { throw new Error('SSM must not be used'); }, localExists: () => false };
}

describe('results: compute seconds and estimated cost', () => {
  test('a CPU job-hour is what the job definition reserves for one arm, 1 vCPU × $0.04048 + 2 GB × $0.004445, 70 % less on Spot at best', () => {
    const cpu = hourlyRange('cpu');
    assert.ok(Math.abs(cpu.high - (1 * 0.04048 + 2 * 0.004445)) < 1e-12, `${cpu.high}`);
    assert.ok(Math.abs(cpu.low - cpu.high * 0.3) < 1e-12, `${cpu.low}`);
    // A job of both arms reserves twice as much.
    assert.ok(Math.abs(hourlyRange('cpu', 2).high - (2 * 0.04048 + 4 * 0.004445)) < 1e-12);
    assert.deepEqual(hourlyRange('gpu'), { low: 0.16, high: 1.006 });
    assert.equal(PRICE_BASIS.region, 'us-east-1');
    assert.match(QUEUE_REGISTRY.cpu.price.source, /^https:\/\/aws\.amazon\.com\/fargate\/pricing\/$/);
  });

  test('a sweep with shared baselines (one arm per job) is priced at the one-arm reservation, 1 vCPU / 2 GB', async () => {
    const { openStorage } = memoryOpener();
    const sweep = openStorage('s3://results').child('sweeps/c2');
    const local = fixtureSweepRecord('c2', [0.2], [1], sweep.child('runs').uri);
    // As version 2 wrote it: no method per run.
    const runs = gridJobs([0.2], [1]).map(({ method: _method, ...job }) => job);
    const batch = { jobName: 'mixup-sweep-c2', jobQueue: 'arn:q', jobDefinition: 'arn:d', arraySize: 2, jobId: null, jobArn: null, queue: 'cpu' };
    const record = { ...local, version: 2, executor: 'batch', local: null, batch, runs, grid: { ...local.grid, size: runs.length } } as SweepRecord;
    await sweep.write('sweep.json', JSON.stringify(record), 'application/json');
    await writeFixtureRun(sweep.child(`runs/${baselineRunId(1)}`), { alpha: 0, seed: 1, baseline: 0.87, wallSeconds: 300, backend: 'wasm' }, baselineRunId(1));
    await writeFixtureRun(sweep.child(`runs/${gridRunId(0.2, 1)}`), { alpha: 0.2, seed: 1, mixup: 0.86, wallSeconds: 300, backend: 'wasm' });
    const summary = await results({ sweep: 'c2', results: 's3://results' }, { openStorage, ssm: () => { throw new Error('no SSM'); }, localExists: () => false });
    const onDemand = 1 * 0.04048 + 2 * 0.004445;
    assert.equal(summary.compute.seconds, 600);
    assert.ok(Math.abs(summary.compute.cost!.high - (onDemand * 600) / 3600) < 1e-12, `${summary.compute.cost!.high}`);
    assert.match(summary.compute.basis!, /^estimate: Fargate 1 vCPU \/ 2 GB, /);
  });

  test('per run: queue, backend, job seconds and a cost range; per sweep: the totals, labelled an estimate', async () => {
    const summary = await results({ sweep: 'c1', results: 's3://results' }, await batchSweep('cpu'));
    // Version 1: each job trained both arms, and reserved for two.
    const rate = hourlyRange('cpu', 2);
    const cost = (seconds: number) => `${dollars((rate.low * seconds) / 3600)}–${dollars((rate.high * seconds) / 3600)}`;
    const text = formatResults(summary, 'table');
    const lines = text.split('\n');
    assert.ok(lines.some((l) => /^run\s+state\s+queue\s+backend\s+job s\s+est\. cost$/.test(l)), text);
    assert.ok(lines.includes(`alpha-0.2_seed-1  complete    cpu    wasm     407.2  ${cost(407.2)}`), text);
    assert.ok(lines.includes(`alpha-0.2_seed-2  complete    cpu    wasm     392.8  ${cost(392.8)}`), text);
    assert.ok(lines.includes('alpha-0.2_seed-3  incomplete  cpu    —            —  —'), text);
    const total = lines.find((l) => l.startsWith('sweep total:'))!;
    assert.equal(
      total,
      `sweep total: 2 complete runs, 800 s of job time on the cpu queue; estimated ${cost(800)} ` +
        `(estimate: Fargate 2 vCPU / 4 GB, ${dollars(rate.low)}–${dollars(rate.high)} per job-hour (Spot at 70 % off to on-demand), ` +
        'us-east-1 prices of 2026-06; start-up and image pull not included)',
    );
    assert.equal(cost(800), '$0.00658–$0.0219');
  });

  test('the figures themselves: 800 s on the CPU queue is $0.00658–$0.0219', async () => {
    const summary = await results({ sweep: 'c1', results: 's3://results' }, await batchSweep('cpu'));
    assert.equal(summary.compute.seconds, 800);
    assert.ok(Math.abs(summary.compute.cost!.low - 0.006582666) < 1e-6, `${summary.compute.cost!.low}`);
    assert.ok(Math.abs(summary.compute.cost!.high - 0.021942222) < 1e-6, `${summary.compute.cost!.high}`);
  });

  test('a GPU sweep is priced per G instance-hour; a sweep.json without a queue is a GPU sweep', async () => {
    for (const queue of ['gpu', undefined] as const) {
      const summary = await results({ sweep: 'c1', results: 's3://results' }, await batchSweep(queue));
      assert.equal(summary.compute.queue, 'gpu');
      assert.ok(Math.abs(summary.compute.cost!.low - (0.16 * 800) / 3600) < 1e-12);
      assert.ok(Math.abs(summary.compute.cost!.high - (1.006 * 800) / 3600) < 1e-12);
      assert.match(formatResults(summary, 'table'), /on the gpu queue; estimated \$0\.0356–\$0\.224 \(estimate: one g4dn\.xlarge \/ g5\.xlarge \/ g6\.xlarge/);
    }
  });

  test('json carries the compute summary; markdown has the per-run table and the total', async () => {
    const summary = await results({ sweep: 'c1', results: 's3://results' }, await batchSweep('cpu'));
    const json = JSON.parse(formatResults(summary, 'json'));
    assert.equal(json.compute.queue, 'cpu');
    assert.deepEqual(json.compute.runs.map((r: { seconds: number | null }) => r.seconds), [407.2, 392.8, null]);
    const md = formatResults(summary, 'md');
    assert.match(md, /\| alpha-0\.2_seed-1 \| complete \| cpu \| wasm \| 407\.2 \| \$0\.00\d+–\$0\.0\d+ \|/);
    assert.match(md, /_sweep total: 2 complete runs, 800 s of job time on the cpu queue; estimated /);
  });

  test('a local sweep costs nothing in the cloud', async () => {
    const { openStorage } = memoryOpener();
    const sweep = openStorage('s3://results').child('sweeps/l1');
    await sweep.write('sweep.json', JSON.stringify(fixtureSweepRecord('l1', [0], [1], sweep.child('runs').uri)), 'application/json');
    await writeFixtureRun(sweep.child('runs/alpha-0_seed-1'), { alpha: 0, seed: 1, mixup: 0.8, baseline: 0.8, wallSeconds: 12.5 });
    const summary = await results({ sweep: 'l1', results: 's3://results' }, { openStorage, ssm: () => { throw new Error('no'); }, localExists: () => false });
    assert.equal(summary.compute.cost, null);
    assert.match(formatResults(summary, 'table'), /\nalpha-0_seed-1 +complete +local +cpu +12\.5 +—\nsweep total: 1 complete run, 13 s of job time on this machine; no cloud cost$/);
  });
});
