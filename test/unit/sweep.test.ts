import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { JobError, UsageError } from '../../job/errors.js';
import { describeSweep } from '../../scripts/commands/sweep.js';
import { type SweepOptions } from '../../scripts/sweep/plan.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import { JOB_DEF, NOW, QUEUE, recorder } from './sweep-recorder.js';

const flagsGiven: SweepOptions = {
  alphas: [0, 0.2],
  seeds: [1, 2, 3],
  jobQueue: QUEUE,
  jobDefinition: JOB_DEF,
  results: 's3://my-results/team',
  data: 's3://my-data/fashion-mnist',
  sweepId: 'alpha-study',
  settings: { epochs: 10, batchSize: 128 },
};

describe('sweep on AWS Batch', () => {
  test('submits one array job with the exact SubmitJob input', async () => {
    const rec = recorder();
    const outcome = await sweep(flagsGiven, rec.deps);
    assert.equal(rec.submitted.length, 1);
    assert.deepEqual(rec.submitted[0], {
      jobName: 'mixup-sweep-alpha-study',
      jobQueue: QUEUE,
      jobDefinition: JOB_DEF,
      arrayProperties: { size: 6 },
      containerOverrides: {
        environment: [
          { name: 'MIXUP_GRID_ALPHAS', value: '0,0.2' },
          { name: 'MIXUP_GRID_SEEDS', value: '1,2,3' },
          { name: 'MIXUP_GRID_LAYOUT', value: 'shared-baselines' },
          { name: 'MIXUP_GRID_METHODS', value: 'mixup' },
          { name: 'MIXUP_OUT', value: 's3://my-results/team/sweeps/alpha-study/runs' },
          { name: 'MIXUP_DATA', value: 's3://my-data/fashion-mnist' },
          { name: 'MIXUP_EPOCHS', value: '10' },
          { name: 'MIXUP_BATCH_SIZE', value: '128' },
        ],
      },
      tags: { 'mixup:sweep-id': 'alpha-study' },
      propagateTags: true,
    });
    assert.equal(rec.ssmNames.length, 0, 'no SSM lookup when every flag is given');
    assert.equal(outcome.record.batch?.jobId, 'job-123');
    assert.equal(outcome.sweepUri, 's3://my-results/team/sweeps/alpha-study/sweep.json');
  });

  test('writes sweep.json before submitting, then records the job id', async () => {
    const rec = recorder();
    await sweep(flagsGiven, rec.deps);
    const before = rec.recordAtSubmit as { batch: { jobId: string | null }; createdAt: string; runs: unknown[] };
    assert.ok(before, 'sweep.json existed when SubmitJob was called');
    assert.equal(before.batch.jobId, null);
    const after = JSON.parse(rec.objects.get('s3://my-results/team/sweeps/alpha-study/sweep.json')!.toString());
    assert.equal(after.batch.jobId, 'job-123');
    assert.equal(after.createdAt, NOW.toISOString());
    assert.equal(after.version, 3);
    assert.deepEqual(after.grid, {
      methods: ['mixup'],
      alphas: [0, 0.2],
      seeds: [1, 2, 3],
      size: 6,
      order: "baselines first (index = seedIndex), then one arm per method, α > 0 and seed (index = seeds + (methodIndex × α's + alphaIndex) × seeds + seedIndex)",
    });
    assert.deepEqual(after.runs[1], { index: 1, method: 'none', alpha: 0, seed: 2, arms: 'baseline', runId: 'baseline_seed-2' });
    assert.deepEqual(after.runs[4], { index: 4, method: 'mixup', alpha: 0.2, seed: 2, arms: 'mixup', runId: 'mixup_alpha-0.2_seed-2' });
    assert.deepEqual(after.settings, { epochs: 10, batchSize: 128 });
  });

  test('finds queue, job definition and buckets through SSM when no flags are given', async () => {
    const rec = recorder();
    const outcome = await sweep({ alphas: [0.1, 0.4], seeds: [1], sweepId: 's1' }, rec.deps);
    assert.deepEqual(rec.ssmNames, [[
      '/MixupBatch/job-queue-arn',
      '/MixupBatch/job-definition-arn',
      '/MixupBatch/cpu-job-queue-arn',
      '/MixupBatch/cpu-job-definition-arn',
      '/MixupBatch/results-bucket',
      '/MixupBatch/data-bucket',
    ]]);
    const input = rec.submitted[0]!;
    assert.equal(input.jobQueue, QUEUE);
    assert.equal(input.jobDefinition, JOB_DEF);
    assert.deepEqual(input.containerOverrides?.environment?.slice(4), [
      { name: 'MIXUP_OUT', value: 's3://mixup-results-123/sweeps/s1/runs' },
      { name: 'MIXUP_DATA', value: 's3://mixup-data-123/fashion-mnist' },
    ]);
    assert.equal(outcome.sweepUri, 's3://mixup-results-123/sweeps/s1/sweep.json');
  });

  test('the stack name selects the SSM parameters', async () => {
    const rec = recorder({ ssmValues: { '/Other/job-queue-arn': QUEUE } });
    await sweep({ ...flagsGiven, jobQueue: undefined, stackName: 'Other' }, rec.deps);
    assert.deepEqual(rec.ssmNames, [['/Other/job-queue-arn', '/Other/cpu-job-queue-arn']]);
  });

  test('a missing SSM parameter names it and the flag that replaces it; nothing is written', async () => {
    const rec = recorder({ ssmValues: {} });
    await assert.rejects(sweep({ alphas: [0.2], seeds: [1, 2] }, rec.deps), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.match(error.message, /\/MixupBatch\/job-queue-arn.*not found.*--job-queue, --job-definition, --results, --data/);
      return true;
    });
    assert.equal(rec.objects.size, 0);
    assert.equal(rec.submitted.length, 0);
  });

  test('a one-job sweep (α = 0 alone: one baseline) is submitted as a plain job', async () => {
    const rec = recorder();
    const outcome = await sweep({ ...flagsGiven, alphas: [0], seeds: [7] }, rec.deps);
    assert.deepEqual(outcome.record.runs.map((run) => run.runId), ['baseline_seed-7']);
    assert.equal(rec.submitted[0]!.arrayProperties, undefined);
    assert.equal(outcome.record.batch?.arraySize, null);
  });

  const badGrids: Array<[string, Partial<SweepOptions>, RegExp]> = [
    ['an empty α list', { alphas: [] }, /'alphas' is empty/],
    ['a negative α', { alphas: [0.2, -1] }, /α must be ≥ 0/],
    ['duplicate α values', { alphas: [0.2, 0.2] }, /'alphas' repeats 0.2/],
    ['a grid over 10,000 runs', { alphas: Array.from({ length: 200 }, (_, i) => i), seeds: Array.from({ length: 51 }, (_, i) => i + 1) }, /10200 runs; AWS Batch arrays hold at most 10000/],
    ['a bad run setting', { settings: { epochs: 0 } }, /--epochs "0": must be ≥ 1/],
    ['a bad sweep id', { sweepId: 'has space' }, /--sweep-id 'has space'/],
    ['concurrency for Batch', { concurrency: 2 }, /--concurrency 2: only the local executor/],
    ['a local results folder for Batch', { results: '/tmp/results' }, /--results '\/tmp\/results': AWS Batch children cannot write to this machine/],
    ['a local data folder for Batch', { data: './data' }, /--data '.\/data': AWS Batch children cannot read/],
  ];
  for (const [what, change, message] of badGrids) {
    test(`refuses ${what} before anything is looked up, written or submitted`, async () => {
      const rec = recorder();
      await assert.rejects(sweep({ ...flagsGiven, jobQueue: undefined, ...change }, rec.deps), (error: unknown) => {
        assert.ok(error instanceof UsageError, `UsageError, got ${error}`);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(rec.objects.size, 0);
      assert.equal(rec.submitted.length, 0);
      assert.equal(rec.ssmNames.length, 0);
    });
  }

  test('a dry run writes and submits nothing, and still shows the plan', async () => {
    const rec = recorder();
    const outcome = await sweep({ ...flagsGiven, dryRun: true }, rec.deps);
    assert.equal(rec.objects.size, 0);
    assert.equal(rec.submitted.length, 0);
    const text = describeSweep(outcome);
    assert.match(text, /Dry run/);
    assert.match(text, /array of 6/);
    assert.match(text, /MIXUP_GRID_ALPHAS=0,0.2/);
  });

  test('a dry run without AWS access shows placeholders instead of failing', async () => {
    const rec = recorder();
    rec.deps = { ...rec.deps, ssm: () => ({ getParameters: async () => { throw new Error('no credentials'); } }) };
    const outcome = await sweep({ alphas: [0.2], seeds: [1, 2], dryRun: true, sweepId: 'x' }, rec.deps);
    assert.match(outcome.record.batch!.jobQueue, /from SSM, unavailable/);
    assert.equal(rec.objects.size, 0);
    assert.match(rec.logs.join('\n'), /no credentials/);
  });

  test('a taken sweep id is refused', async () => {
    const rec = recorder();
    await sweep(flagsGiven, rec.deps);
    await assert.rejects(sweep(flagsGiven, rec.deps), /--sweep-id 'alpha-study' is taken/);
    assert.equal(rec.submitted.length, 1);
  });

  test('a refused submission leaves no sweep.json behind', async () => {
    const rec = recorder({ batch: { submitJob: async () => { throw new Error('AccessDenied'); } } });
    await assert.rejects(sweep(flagsGiven, rec.deps), /AWS Batch refused the sweep's job: AccessDenied/);
    assert.equal(rec.objects.size, 0);
  });

  test('--wait polls until the array ends and names the failed children', async () => {
    const summaries = [
      { status: 'PENDING', summary: { RUNNABLE: 6 } },
      { status: 'RUNNING', summary: { RUNNING: 4, SUCCEEDED: 2 } },
      { status: 'FAILED', summary: { SUCCEEDED: 5, FAILED: 1 } },
    ];
    const listInputs: unknown[] = [];
    let polls = 0;
    const rec = recorder({
      batch: {
        describeJobs: async (ids) => {
          assert.deepEqual(ids, ['job-123']);
          const { status, summary } = summaries[Math.min(polls++, 2)]!;
          return { jobs: [{ jobId: 'job-123', status, arrayProperties: { statusSummary: summary, size: 6 } }], $metadata: {} } as never;
        },
        listJobs: async (input) => {
          listInputs.push(input);
          return [{ jobId: 'job-123:5', jobName: 'x', arrayProperties: { index: 5 } }];
        },
      },
    });
    const slept: number[] = [];
    rec.deps = { ...rec.deps, sleep: async (ms) => void slept.push(ms) };
    const outcome = await sweep({ ...flagsGiven, wait: true, pollSeconds: 5 }, rec.deps);
    assert.equal(polls, 3);
    assert.deepEqual(slept, [5000, 5000]);
    assert.deepEqual(listInputs, [{ arrayJobId: 'job-123', jobStatus: 'FAILED' }]);
    assert.deepEqual(outcome.failed, ['mixup_alpha-0.2_seed-3']);
    assert.deepEqual(outcome.final, { SUCCEEDED: 5, FAILED: 1 });
    const countLines = rec.logs.filter((line) => line.includes('(of 6)'));
    assert.deepEqual(countLines, ['RUNNABLE 6 (of 6)', 'RUNNING 4 · SUCCEEDED 2 (of 6)', 'SUCCEEDED 5 · FAILED 1 (of 6)']);
  });

  test('--wait ends when every child has ended even if the parent has not moved, and explains the failures', async () => {
    // moto leaves a parent with failed children SUBMITTED; AWS would move it to FAILED a moment later.
    let polls = 0;
    const rec = recorder({
      batch: {
        describeJobs: async () => {
          polls++;
          return { jobs: [{ jobId: 'job-123', status: 'SUBMITTED', arrayProperties: { statusSummary: { SUCCEEDED: 4, FAILED: 2 }, size: 6 } }], $metadata: {} } as never;
        },
        listJobs: async () => [{ jobId: 'job-123:0', jobName: 'x' }, { jobId: 'job-123:5', jobName: 'x' }],
      },
    });
    const explained: unknown[] = [];
    rec.deps = { ...rec.deps, reportFailures: async (record, jobId, failed) => void explained.push([record.sweepId, jobId, failed]) };
    const outcome = await sweep({ ...flagsGiven, wait: true }, rec.deps);
    assert.equal(polls, 1);
    assert.deepEqual(outcome.failed, ['baseline_seed-1', 'mixup_alpha-0.2_seed-3']);
    assert.deepEqual(explained, [['alpha-study', 'job-123', ['baseline_seed-1', 'mixup_alpha-0.2_seed-3']]]);
  });

  test('--wait tolerates a job that DescribeJobs does not show yet, but not for ever', async () => {
    let polls = 0;
    const rec = recorder({
      batch: {
        describeJobs: async () => {
          polls++;
          if (polls <= 2) return { jobs: [], $metadata: {} } as never;
          return { jobs: [{ jobId: 'job-123', status: 'SUCCEEDED', arrayProperties: { statusSummary: { SUCCEEDED: 6 } } }], $metadata: {} } as never;
        },
      },
    });
    const outcome = await sweep({ ...flagsGiven, wait: true }, rec.deps);
    assert.deepEqual(outcome.final, { SUCCEEDED: 6 });
    const never = recorder({ batch: { describeJobs: async () => ({ jobs: [], $metadata: {} }) as never } });
    await assert.rejects(sweep({ ...flagsGiven, wait: true }, never.deps), /AWS Batch does not know job job-123 \(sweep alpha-study\)/);
  });

  test('--wait on a terminal rewrites one status line and prints the final count', async () => {
    let polls = 0;
    const rec = recorder({
      batch: {
        describeJobs: async () => {
          const done = polls++ > 0;
          const summary = done ? { SUCCEEDED: 6 } : { RUNNING: 6 };
          return { jobs: [{ jobId: 'job-123', status: done ? 'SUCCEEDED' : 'RUNNING', arrayProperties: { statusSummary: summary } }], $metadata: {} } as never;
        },
      },
    });
    const status: string[] = [];
    rec.deps = { ...rec.deps, status: (line) => void status.push(line) };
    const outcome = await sweep({ ...flagsGiven, wait: true }, rec.deps);
    assert.deepEqual(status, ['RUNNING 6 (of 6)']);
    assert.ok(rec.logs.includes('SUCCEEDED 6 (of 6)'));
    assert.deepEqual(outcome.failed, []);
  });
});
