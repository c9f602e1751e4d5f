import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';

import { DescribeJobsCommand, ListJobsCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { Command } from 'commander';

import { JobError, UsageError } from '../../job/errors.js';
import { createBatchApi, createSsmApi } from '../../scripts/batch-client.js';
import { describeSweep, register as registerSweepCommand, sweepOptionsFromFlags } from '../../scripts/commands/sweep.js';
import type { ChildLike } from '../../scripts/sweep/deps.js';
import { defaultConcurrency, localThreadEnvironment, planSweep, type SweepOptions } from '../../scripts/sweep/plan.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import { resolveSweepData } from '../../scripts/sweep/data-location.js';
import { sweepRecordSchema } from '../../job/shared/sweep-record.js';
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

describe('AWS clients', () => {
  test('the Batch API sends SDK commands with the given input', async () => {
    const sent: object[] = [];
    const api = createBatchApi({
      send: async (command) => {
        sent.push(command);
        if (command instanceof ListJobsCommand) {
          return command.input.nextToken ? { jobSummaryList: [{ jobId: 'b' }] } : { jobSummaryList: [{ jobId: 'a' }], nextToken: 't' };
        }
        return {};
      },
    });
    await api.submitJob({ jobName: 'n', jobQueue: 'q', jobDefinition: 'd' });
    await api.describeJobs(['j']);
    const jobs = await api.listJobs({ arrayJobId: 'j', jobStatus: 'FAILED' });
    assert.ok(sent[0] instanceof SubmitJobCommand);
    assert.deepEqual((sent[0] as SubmitJobCommand).input, { jobName: 'n', jobQueue: 'q', jobDefinition: 'd' });
    assert.ok(sent[1] instanceof DescribeJobsCommand);
    assert.deepEqual(jobs.map((j) => j.jobId), ['a', 'b'], 'every page is read');
  });

  test('the SSM API asks for parameters in pages of ten', async () => {
    const asked: string[][] = [];
    const api = createSsmApi({
      send: async (command) => {
        assert.ok(command instanceof GetParametersCommand);
        asked.push(command.input.Names!);
        return { Parameters: command.input.Names!.map((name) => ({ Name: name, Value: `v${name}` })) };
      },
    });
    const names = Array.from({ length: 12 }, (_, i) => `/p${i}`);
    const values = await api.getParameters(names);
    assert.deepEqual(asked.map((a) => a.length), [10, 2]);
    assert.equal(values['/p11'], 'v/p11');
  });
});

describe('sweep --queue gpu|cpu', () => {
  const CPU_QUEUE = 'arn:aws:batch:eu-west-1:123456789012:job-queue/mixup-cpu';
  const CPU_DEF = 'arn:aws:batch:eu-west-1:123456789012:job-definition/mixup-cpu:1';
  const both = {
    '/MixupBatch/job-queue-arn': QUEUE,
    '/MixupBatch/job-definition-arn': JOB_DEF,
    '/MixupBatch/cpu-job-queue-arn': CPU_QUEUE,
    '/MixupBatch/cpu-job-definition-arn': CPU_DEF,
    '/MixupBatch/results-bucket': 'mixup-results-123',
    '/MixupBatch/data-bucket': 'mixup-data-123',
  };
  const { '/MixupBatch/job-queue-arn': _q, '/MixupBatch/job-definition-arn': _d, ...cpuOnly } = both;
  const grid = { alphas: [0.2], seeds: [1, 2], sweepId: 'q1' };

  test('--queue cpu submits to the CPU queue and job definition, asks SSM for those alone, and records the queue', async () => {
    const rec = recorder({ ssmValues: both });
    const outcome = await sweep({ ...grid, queue: 'cpu' }, rec.deps);
    assert.deepEqual(rec.ssmNames, [[
      '/MixupBatch/cpu-job-queue-arn', '/MixupBatch/cpu-job-definition-arn', '/MixupBatch/results-bucket', '/MixupBatch/data-bucket',
    ]]);
    assert.equal(rec.submitted[0]!.jobQueue, CPU_QUEUE);
    assert.equal(rec.submitted[0]!.jobDefinition, CPU_DEF);
    const stored = JSON.parse(rec.objects.get('s3://mixup-results-123/sweeps/q1/sweep.json')!.toString());
    assert.equal(stored.batch.queue, 'cpu');
    assert.match(describeSweep(outcome), /queue: {4}cpu \(arn:aws:batch:.*mixup-cpu\)/);
  });

  test('without --queue the GPU queue is used when the stack has one', async () => {
    const rec = recorder({ ssmValues: both });
    const outcome = await sweep(grid, rec.deps);
    assert.equal(rec.submitted[0]!.jobQueue, QUEUE);
    assert.equal(outcome.record.batch!.queue, 'gpu');
  });

  test('without --queue a CPU-only stack gets the CPU queue', async () => {
    const rec = recorder({ ssmValues: cpuOnly });
    const outcome = await sweep(grid, rec.deps);
    assert.equal(rec.ssmNames.length, 1, 'one SSM call reads both queues');
    assert.equal(rec.submitted[0]!.jobQueue, CPU_QUEUE);
    assert.equal(outcome.record.batch!.queue, 'cpu');
  });

  test('--queue gpu on a CPU-only stack says so and names the way out; nothing is written', async () => {
    const rec = recorder({ ssmValues: cpuOnly });
    await assert.rejects(sweep({ ...grid, queue: 'gpu' }, rec.deps), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.equal(
        error.message,
        "the stack 'MixupBatch' has no gpu queue (SSM /MixupBatch/job-queue-arn, /MixupBatch/job-definition-arn not found); " +
          'deploy it with -c gpu=true, or use --queue cpu',
      );
      return true;
    });
    assert.equal(rec.objects.size, 0);
    assert.equal(rec.submitted.length, 0);
  });

  test('--queue is for Batch only, and only gpu or cpu', async () => {
    const rec = recorder();
    await assert.rejects(sweep({ ...grid, executor: 'local', queue: 'cpu' }, rec.deps), /--queue cpu: only the batch executor takes it/);
    await assert.rejects(sweep({ ...grid, queue: 'tpu' as never }, rec.deps), /--queue 'tpu' is unknown; use one of gpu, cpu/);
    assert.equal(rec.ssmNames.length, 0);
  });

  test('the command line takes --queue cpu and refuses another name', async () => {
    const rec = recorder({ ssmValues: both });
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
    registerSweepCommand(program, () => rec.deps);
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'mixup', 'sweep', '--alphas', '0.2', '--seeds', '2', '--queue', 'cpu', '--dry-run']);
      await assert.rejects(
        program.parseAsync(['node', 'mixup', 'sweep', '--alphas', '0.2', '--queue', 'tpu']),
        /argument 'tpu' is invalid. Allowed choices are gpu, cpu/,
      );
    } finally {
      process.stdout.write = write;
    }
    assert.deepEqual(sweepOptionsFromFlags({ alphas: '0.2', executor: 'batch', stackName: 'S', queue: 'cpu', jobQueue: 'arn:q' }).queue, 'cpu');
  });

  test('a sweep.json written before the CPU queue existed reads as a GPU sweep', () => {
    const old = {
      version: 1, sweepId: 'old', createdAt: NOW.toISOString(), executor: 'batch',
      grid: { alphas: [0.2], seeds: [1], size: 1, order: 'index = alphaIndex × seeds + seedIndex' },
      runs: [{ index: 0, alpha: 0.2, seed: 1, runId: 'alpha-0.2_seed-1' }], settings: {}, environment: {},
      results: 's3://r', runsUri: 's3://r/sweeps/old/runs', data: null, local: null,
      batch: { jobName: 'mixup-sweep-old', jobQueue: QUEUE, jobDefinition: JOB_DEF, arraySize: null, jobId: 'j', jobArn: null },
    };
    assert.equal(sweepRecordSchema.parse(old).batch!.queue, 'gpu');
  });
});
