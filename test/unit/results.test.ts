import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadImage } from '@napi-rs/canvas';

import { JobError, UsageError } from '../../job/errors.js';
import { LocalStorage } from '../../job/storage/local.js';
import { openStorage } from '../../job/storage/open.js';
import type { BatchApi } from '../../scripts/batch-client.js';
import { aggregate } from '../../scripts/results/aggregate.js';
import { CSV_COLUMNS, formatResults } from '../../scripts/results/format.js';
import { renderAccuracyPlot } from '../../scripts/results/plot.js';
import type { RunResult } from '../../scripts/results/read.js';
import { results, type ResultsDeps } from '../../scripts/results/results.js';
import { fixtureMethodsRecord, fixtureSweepRecord, memoryOpener, writeFixtureRun } from './sweep-fixtures.js';
import { armRunId, baselineRunId, gridJobs, gridRunId } from '../../job/shared/grid.js';

const T2_975 = 4.302652729749464; // t(0.975, 2)
const T1_975 = 12.706204736174705; // t(0.975, 1)

function near(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
}

function run(alpha: number, seed: number, mixup?: number, baseline?: number, state: RunResult['state'] = 'complete'): RunResult {
  const accuracy = { ...(mixup !== undefined ? { augmented: mixup } : {}), ...(baseline !== undefined ? { baseline } : {}) };
  return { runId: `alpha-${alpha}_seed-${seed}`, method: 'mixup', alpha, seed, state, accuracy, problems: [], uri: '', objects: [], backend: null, wallSeconds: null };
}

describe('aggregation', () => {
  test('per α: means, t intervals over seeds and paired differences', () => {
    const rows = aggregate([
      run(0.2, 2, 0.84, 0.83),
      run(0, 1, 0.86, 0.85),
      run(0, 2, 0.87, 0.87),
      run(0, 3, 0.88, 0.86),
      run(0.2, 1, 0.8, 0.83),
      run(0.2, 3, undefined, undefined, 'incomplete'),
    ]);
    assert.deepEqual(rows.map((r) => r.alpha), [0, 0.2]);
    const [zero, fifth] = rows as [(typeof rows)[0], (typeof rows)[0]];
    near(zero.augmented!.mean, 0.87, 'α 0 mixup mean');
    near(zero.augmented!.halfWidth, (T2_975 * 0.01) / Math.sqrt(3), 'α 0 mixup half-width');
    near(zero.baseline!.mean, 0.86, 'α 0 baseline mean');
    near(zero.difference!.mean, 0.01, 'α 0 difference mean'); // [0.01, 0, 0.02]
    near(zero.difference!.halfWidth, (T2_975 * 0.01) / Math.sqrt(3), 'α 0 difference half-width');
    assert.equal(zero.runs.complete, 3);

    near(fifth.augmented!.mean, 0.82, 'α 0.2 mixup mean');
    near(fifth.augmented!.halfWidth, (T1_975 * Math.sqrt(0.0008)) / Math.sqrt(2), 'α 0.2 mixup half-width');
    near(fifth.baseline!.halfWidth, 0, 'α 0.2 baseline half-width (equal values)');
    near(fifth.difference!.mean, -0.01, 'α 0.2 difference mean'); // [-0.03, 0.01]
    assert.equal(fifth.difference!.n, 2);
    assert.equal(fifth.runs.complete, 2);
    assert.equal(fifth.runs.incomplete, 1);
    assert.equal(fifth.total, 3);
  });

  test('the difference pairs seeds with both arms only', () => {
    const [row] = aggregate([run(0.4, 1, 0.9, 0.8), run(0.4, 2, 0.7, undefined), run(0.4, 3, undefined, 0.6)]);
    assert.equal(row!.augmented!.n, 2);
    assert.equal(row!.baseline!.n, 2);
    assert.equal(row!.difference!.n, 1);
    near(row!.difference!.mean, 0.1, 'difference');
    assert.equal(row!.difference!.halfWidth, null, 'one pair has no interval');
  });

  test('an α with no complete run has no intervals', () => {
    const [row] = aggregate([run(1, 1, undefined, undefined, 'missing'), run(1, 2, undefined, undefined, 'failed')]);
    assert.equal(row!.augmented, null);
    assert.equal(row!.difference, null);
    assert.equal(row!.runs.missing, 1);
    assert.equal(row!.runs.failed, 1);
  });
});

describe('results over run directories', () => {
  let dir: string;
  const alphas = [0, 0.2, 0.4];
  const seeds = [1, 2, 3];
  const localDeps = (overrides: Partial<ResultsDeps> = {}): ResultsDeps => ({
    openStorage,
    ssm: () => { throw new Error('SSM must not be used'); },
    localExists: () => false,
    ...overrides,
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mixup-results-'));
    const sweep = new LocalStorage(dir).child('sweeps/s1');
    await sweep.write('sweep.json', JSON.stringify(fixtureSweepRecord('s1', alphas, seeds, sweep.child('runs').uri)), 'application/json');
    const runs = sweep.child('runs');
    const at = (alpha: number, seed: number) => runs.child(`alpha-${alpha}_seed-${seed}`);
    await writeFixtureRun(at(0, 1), { alpha: 0, seed: 1, mixup: 0.86, baseline: 0.85 });
    await writeFixtureRun(at(0, 2), { alpha: 0, seed: 2, mixup: 0.87, baseline: 0.87 });
    await writeFixtureRun(at(0, 3), { alpha: 0, seed: 3, mixup: 0.88, baseline: 0.86 });
    await writeFixtureRun(at(0.2, 1), { alpha: 0.2, seed: 1, mixup: 0.8, baseline: 0.83 });
    await writeFixtureRun(at(0.2, 2), { alpha: 0.2, seed: 2, mixup: 0.84, baseline: 0.83 });
    await writeFixtureRun(at(0.2, 3), { alpha: 0.2, seed: 3, mixup: 0.9, baseline: 0.9, state: 'incomplete' });
    // α 0.4: seed 1 tampered after its manifest, seed 2 never started, seed 3 ran the wrong grid point.
    await writeFixtureRun(at(0.4, 1), { alpha: 0.4, seed: 1, mixup: 0.85, baseline: 0.85 });
    await at(0.4, 1).write('history.csv', 'arm,epoch,changed\n', 'text/csv');
    await writeFixtureRun(at(0.4, 3), { alpha: 0.2, seed: 3, mixup: 0.85, baseline: 0.85 }, 'alpha-0.4_seed-3');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('counts complete, incomplete, invalid and missing runs and aggregates the complete ones', async () => {
    const summary = await results({ sweep: 's1', results: dir }, localDeps());
    assert.equal(summary.kind, 'sweep');
    assert.equal(summary.uri, path.join(dir, 'sweeps', 's1'));
    const states = Object.fromEntries(summary.runs.map((r) => [r.runId, r.state]));
    assert.deepEqual(states, {
      'alpha-0_seed-1': 'complete', 'alpha-0_seed-2': 'complete', 'alpha-0_seed-3': 'complete',
      'alpha-0.2_seed-1': 'complete', 'alpha-0.2_seed-2': 'complete', 'alpha-0.2_seed-3': 'incomplete',
      'alpha-0.4_seed-1': 'invalid', 'alpha-0.4_seed-2': 'missing', 'alpha-0.4_seed-3': 'invalid',
    });
    const tampered = summary.runs.find((r) => r.runId === 'alpha-0.4_seed-1')!;
    assert.match(tampered.problems[0]!, /history\.csv has \d+ bytes; the manifest says \d+/);
    const wrongPoint = summary.runs.find((r) => r.runId === 'alpha-0.4_seed-3')!;
    assert.match(wrongPoint.problems[0]!, /records α = 0.2, seed = 3; the grid point is α = 0.4, seed = 3/);
    const [zero, fifth, fourth] = summary.rows;
    near(zero!.augmented!.mean, 0.87, 'α 0 mixup');
    near(fifth!.difference!.mean, -0.01, 'α 0.2 difference');
    assert.equal(fourth!.augmented, null);
    assert.deepEqual(fourth!.runs, { complete: 0, running: 0, failed: 0, incomplete: 0, invalid: 2, missing: 1 });
  });

  test('the terminal table shows mean ± CI per α and the run counts', async () => {
    const text = formatResults(await results({ sweep: 's1', results: dir }, localDeps()), 'table');
    const lines = text.split('\n');
    assert.match(lines[0]!, /sweep s1 .*mean ± 95 % CI over seeds \(Student t\)/);
    assert.match(text, /method\s+α\s+seeds\s+method acc %\s+baseline acc %\s+method − baseline \(pp\)\s+runs/);
    const hw0 = ((T2_975 * 0.01) / Math.sqrt(3)) * 100; // 2.48
    assert.ok(lines.some((l) => new RegExp(`^mixup\\s+0\\s+3\\s+87\\.00 ± ${hw0.toFixed(2)}\\s+86\\.00 ± ${hw0.toFixed(2)}\\s+\\+1\\.00 ± ${hw0.toFixed(2)}\\s+3/3 complete$`).test(l)), text);
    assert.ok(lines.some((l) => /^mixup\s+0\.2\s+2\s+82\.00 ± 25\.41\s+83\.00 ± 0\.00\s+-1\.00 ± \d+\.\d\d\s+2\/3 complete, 1 incomplete$/.test(l)), text);
    assert.ok(lines.some((l) => /^mixup\s+0\.4\s+0\s+—\s+—\s+—\s+0\/3 complete, 2 invalid, 1 missing$/.test(l)), text);
    assert.match(text, /Invalid runs \(left out\):\n\s+alpha-0\.4_seed-1: .*history\.csv/);
  });

  test('csv has one row per α and quantity, in fractions', async () => {
    const csv = formatResults(await results({ sweep: 's1', results: dir }, localDeps()), 'csv');
    const [header, ...rows] = csv.split('\n');
    assert.equal(header, CSV_COLUMNS.join(','));
    assert.equal(rows.length, 9);
    const mixupZero = rows[0]!.split(',');
    assert.deepEqual(mixupZero.slice(0, 4), ['mixup', '0', 'mixup', '3']);
    near(Number(mixupZero[4]), 0.87, 'csv mean');
    near(Number(mixupZero[6]), 0.87 - (T2_975 * 0.01) / Math.sqrt(3), 'csv ci_low');
    assert.deepEqual(rows[7]!.split(',').slice(0, 5), ['mixup', '0.4', 'baseline', '0', '']);
    assert.deepEqual(rows[4]!.split(',').slice(-6), ['2', '0', '0', '1', '0', '0']);
  });

  test('json round-trips the summary', async () => {
    const json = JSON.parse(formatResults(await results({ sweep: 's1', results: dir }, localDeps()), 'json'));
    assert.equal(json.rows.length, 3);
    assert.equal(json.level, 0.95);
    assert.equal(json.runs.length, 9);
    near(json.rows[0].baseline.mean, 0.86, 'json baseline');
  });

  test('markdown is a table with one row per α', async () => {
    const md = formatResults(await results({ sweep: 's1', results: dir }, localDeps()), 'md');
    // The α table is the first block after the caption; the compute table follows it.
    const rows = md.split('\n\n')[1]!.split('\n').filter((l) => l.startsWith('|'));
    assert.equal(rows.length, 5);
    assert.equal(rows[1], '| --- | ---: | ---: | --- | --- | --- | --- |');
    assert.match(rows[3]!, /^\| mixup \| 0\.2 \| 2 \| 82\.00 ± 25\.41 \|/);
  });

  test('--plot writes a PNG that decodes', async () => {
    const target = path.join(dir, 'plots', 'accuracy.png');
    const summary = await results({ sweep: 's1', results: dir, plot: target }, localDeps());
    assert.equal(summary.plot, target);
    const image = await loadImage(await readFile(target));
    assert.equal(image.width, 1600);
    assert.equal(image.height, 1000);
  });

  test('the plot draws both arms in their colours', async () => {
    const { createCanvas } = await import('@napi-rs/canvas');
    const summary = await results({ sweep: 's1', results: dir }, localDeps());
    const image = await loadImage(renderAccuracyPlot(summary.rows));
    const canvas = createCanvas(image.width, image.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
    let blue = 0;
    let orange = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i]! === 0x1f && pixels[i + 1]! === 0x77 && pixels[i + 2]! === 0xb4) blue++;
      if (pixels[i]! === 0xff && pixels[i + 1]! === 0x7f && pixels[i + 2]! === 0x0e) orange++;
    }
    assert.ok(blue > 100 && orange > 100, `blue ${blue}, orange ${orange}`);
  });

  test('--report writes report.html beside the sweep with the table and embedded pictures', async () => {
    const summary = await results({ sweep: 's1', results: dir, report: true }, localDeps());
    assert.equal(summary.report, path.join(dir, 'sweeps', 's1', 'report.html'));
    const html = await readFile(summary.report!, 'utf8');
    assert.equal((html.match(/<tr data-method="mixup" data-alpha=/g) ?? []).length, 3);
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 1 + 2 * 2, 'plot + curves and samples of α 0 and 0.2');
    assert.doesNotMatch(html, /(src|href)="https?:/, 'self-contained');
    assert.match(html, /mixup, α = 0.4<\/h3><p>No complete run yet/);
  });

  test('a single run reports one row without an interval', async () => {
    const runs = new LocalStorage(dir).child('runs');
    await writeFixtureRun(runs.child('my-run'), { alpha: 0.3, seed: 42, mixup: 0.871, baseline: 0.8645 }, 'my-run');
    const summary = await results({ run: 'my-run', results: dir }, localDeps());
    assert.equal(summary.rows.length, 1);
    assert.equal(summary.rows[0]!.alpha, 0.3);
    assert.match(formatResults(summary, 'table'), /0\.3\s+1\s+87\.10 \(n=1\)\s+86\.45 \(n=1\)\s+\+0\.65 \(n=1\)\s+1\/1 complete/);
  });

  test('a missing sweep or run is a clear error', async () => {
    await assert.rejects(results({ sweep: 'nope', results: dir }, localDeps()), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.match(error.message, /no sweep at .*nope: .*sweep\.json does not exist; check --sweep and --results/);
      return true;
    });
    await assert.rejects(results({ run: 'nope', results: dir }, localDeps()), /not found: .*runs\/nope/);
  });

  test('bad option combinations are usage errors', async () => {
    await assert.rejects(results({ results: dir }, localDeps()), UsageError);
    await assert.rejects(results({ sweep: 'a', run: 'b', results: dir }, localDeps()), /exactly one of --sweep <id> and --run <id>/);
    await assert.rejects(results({ run: 'my-run', report: true, results: dir }, localDeps()), /--report needs --sweep/);
    await assert.rejects(results({ sweep: '../x', results: dir }, localDeps()), /--sweep '..\/x'/);
  });

  test('Batch says which unfinished children failed or are running', async () => {
    const recordFile = path.join(dir, 'sweeps', 's1', 'sweep.json');
    const original = await readFile(recordFile, 'utf8');
    const record = JSON.parse(original);
    record.executor = 'batch';
    record.batch = { jobName: 'mixup-sweep-s1', jobQueue: 'q', jobDefinition: 'd', arraySize: 9, jobId: 'job-9', jobArn: null };
    await writeFile(recordFile, JSON.stringify(record));
    const asked: unknown[] = [];
    const batch: BatchApi = {
      submitJob: async () => { throw new Error('no'); },
      describeJobs: async () => { throw new Error('no'); },
      listJobs: async (input) => {
        asked.push(input);
        return input.jobStatus === 'FAILED'
          ? [{ jobId: 'job-9:7', jobName: 'x', arrayProperties: { index: 7 } }]
          : [{ jobId: 'job-9:5', jobName: 'x', arrayProperties: { index: 5 } }];
      },
    };
    try {
      const summary = await results({ sweep: 's1', results: dir }, localDeps({ batch: () => batch }));
      assert.deepEqual(asked, [{ arrayJobId: 'job-9', jobStatus: 'FAILED' }, { arrayJobId: 'job-9', jobStatus: 'RUNNING' }]);
      const states = Object.fromEntries(summary.runs.map((r) => [r.runId, r.state]));
      assert.equal(states['alpha-0.2_seed-3'], 'running');
      assert.equal(states['alpha-0.4_seed-2'], 'failed');
      assert.equal(states['alpha-0.4_seed-1'], 'invalid', 'a run with a manifest keeps its own state');
    } finally {
      await writeFile(recordFile, original);
    }
  });

  test('without --results the stack results bucket is used', async () => {
    const { openStorage: memory, opened } = memoryOpener();
    const names: string[][] = [];
    await assert.rejects(
      results({ sweep: 's1' }, {
        openStorage: memory,
        localExists: () => false,
        ssm: () => ({ getParameters: async (n) => (names.push(n), { '/MixupBatch/results-bucket': 'res-bucket' }) }),
      }),
      /no sweep at s3:\/\/res-bucket\/sweeps\/s1/,
    );
    assert.deepEqual(names, [['/MixupBatch/results-bucket']]);
    assert.deepEqual(opened, ['s3://res-bucket']);
  });

  test('without --results a sweep in the current directory is found first', async () => {
    const { openStorage: memory, opened } = memoryOpener();
    await assert.rejects(
      results({ sweep: 's1' }, { openStorage: memory, localExists: (f) => f === 'sweeps/s1', ssm: () => { throw new Error('no SSM'); } }),
      JobError,
    );
    assert.deepEqual(opened, ['.']);
  });
});

describe('results of a sweep with shared baselines (sweep.json version 2)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mixup-results-v2-'));
    const sweep = new LocalStorage(dir).child('sweeps/s2');
    const record = { ...fixtureSweepRecord('s2', [0, 0.2, 0.4], [1, 2, 3], sweep.child('runs').uri), version: 2 as const };
    const jobs = gridJobs(record.grid.alphas, record.grid.seeds);
    // As version 2 wrote it: no methods, no method per run.
    const runs2 = jobs.map(({ method: _method, ...job }) => job);
    await sweep.write('sweep.json', JSON.stringify({ ...record, runs: runs2, grid: { ...record.grid, size: jobs.length } }), 'application/json');
    const runs = sweep.child('runs');
    const baselines = [0.85, 0.87, 0.86];
    for (const [i, accuracy] of baselines.entries()) {
      await writeFixtureRun(runs.child(baselineRunId(i + 1)), { alpha: 0, seed: i + 1, baseline: accuracy }, baselineRunId(i + 1));
    }
    const mixups: Record<string, number> = { '0.2/1': 0.86, '0.2/2': 0.89, '0.2/3': 0.87, '0.4/1': 0.84, '0.4/3': 0.88 };
    for (const [key, accuracy] of Object.entries(mixups)) {
      const [alpha, seed] = key.split('/').map(Number) as [number, number];
      await writeFixtureRun(runs.child(gridRunId(alpha, seed)), { alpha, seed, mixup: accuracy });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('each α pairs its mixup arms with the seeds\' shared baselines; α = 0 reads the baselines; a missing arm job is counted', async () => {
    const summary = await results({ sweep: 's2', results: dir }, { openStorage, ssm: () => { throw new Error('no SSM'); }, localExists: () => false });
    const [zero, fifth, fourth] = summary.rows;
    // α = 0: the mixup arm is the baseline, so the difference is exactly 0.
    near(zero!.augmented!.mean, 0.86, 'α 0 mixup');
    near(zero!.baseline!.mean, 0.86, 'α 0 baseline');
    assert.equal(zero!.difference!.mean, 0);
    assert.equal(zero!.runs.complete, 3);
    // α = 0.2: (0.86 − 0.85, 0.89 − 0.87, 0.87 − 0.86) paired by seed.
    near(fifth!.augmented!.mean, (0.86 + 0.89 + 0.87) / 3, 'α 0.2 mixup');
    near(fifth!.baseline!.mean, 0.86, 'α 0.2 baseline: the same three baselines');
    near(fifth!.difference!.mean, (0.01 + 0.02 + 0.01) / 3, 'α 0.2 difference');
    // α = 0.4: seed 2's mixup arm never ran.
    assert.equal(fourth!.runs.complete, 2);
    assert.equal(fourth!.runs.missing, 1);
    near(fourth!.difference!.mean, ((0.84 - 0.85) + (0.88 - 0.86)) / 2, 'α 0.4 difference');
  });
});

describe('results of a sweep of methods (sweep.json version 3)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mixup-results-v3-'));
    const sweep = new LocalStorage(dir).child('sweeps/s3');
    // Any method name reads back: results group by what the runs record, whatever this version can train.
    const record = fixtureMethodsRecord('s3', ['mixup', 'blend'], [0, 0.5], [1, 2], sweep.child('runs').uri);
    await sweep.write('sweep.json', JSON.stringify(record), 'application/json');
    const runs = sweep.child('runs');
    for (const [i, accuracy] of [0.85, 0.87].entries()) {
      await writeFixtureRun(runs.child(baselineRunId(i + 1)), { method: 'none', alpha: 0, seed: i + 1, baseline: accuracy }, baselineRunId(i + 1));
    }
    const arms: [string, number, number][] = [['mixup', 1, 0.86], ['mixup', 2, 0.89], ['blend', 1, 0.84], ['blend', 2, 0.88]];
    for (const [method, seed, accuracy] of arms) {
      await writeFixtureRun(runs.child(armRunId(method, 0.5, seed)), { method, alpha: 0.5, seed, augmented: accuracy }, armRunId(method, 0.5, seed));
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('rows per method and α, each method paired with the same baselines; α = 0 is the baseline for every method', async () => {
    const summary = await results({ sweep: 's3', results: dir }, { openStorage, ssm: () => { throw new Error('no SSM'); }, localExists: () => false });
    assert.deepEqual(summary.rows.map((row) => [row.method, row.alpha]), [['mixup', 0], ['mixup', 0.5], ['blend', 0], ['blend', 0.5]]);
    const [mixupZero, mixupHalf, blendZero, blendHalf] = summary.rows;
    assert.equal(mixupZero!.difference!.mean, 0);
    assert.equal(blendZero!.difference!.mean, 0);
    near(mixupHalf!.difference!.mean, (0.01 + 0.02) / 2, 'mixup 0.5: paired with the baseline of its seed');
    near(blendHalf!.difference!.mean, (-0.01 + 0.01) / 2, 'blend 0.5');
    near(blendHalf!.baseline!.mean, 0.86, 'the same two baselines');
    assert.equal(summary.compute.runs.length, 6, 'time is counted per arm job: 2 baselines + 4 arms');
    const text = formatResults(summary, 'table');
    assert.match(text, /^blend\s+0\.5\s+2\s+86\.00 ± /m);
    const csv = formatResults(summary, 'csv').split('\n');
    assert.ok(csv.some((line) => line.startsWith('blend,0.5,blend,2,')), 'the method names its own rows in the CSV');
  });

  test('a run that records another method than the sweep planned is invalid, named', async () => {
    const runs = new LocalStorage(dir).child('sweeps/s3/runs');
    await writeFixtureRun(runs.child(armRunId('blend', 0.5, 2)), { method: 'mixup', alpha: 0.5, seed: 2, augmented: 0.9 }, armRunId('blend', 0.5, 2));
    const summary = await results({ sweep: 's3', results: dir }, { openStorage, ssm: () => { throw new Error('no SSM'); }, localExists: () => false });
    const run = summary.runs.find((r) => r.runId === armRunId('blend', 0.5, 2))!;
    assert.equal(run.state, 'invalid');
    assert.match(run.problems[0]!, /records method mixup, α = 0.5, seed = 2; the grid point is method blend, α = 0.5, seed = 2/);
  });
});
