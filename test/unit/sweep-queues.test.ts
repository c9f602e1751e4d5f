/** mixup sweep's AWS clients and --queue gpu|cpu (sweep.test.ts: the sweep on AWS Batch). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { DescribeJobsCommand, ListJobsCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { Command } from 'commander';

import { JobError } from '../../job/errors.js';
import { createBatchApi, createSsmApi } from '../../scripts/batch-client.js';
import { describeSweep, register as registerSweepCommand, sweepOptionsFromFlags } from '../../scripts/commands/sweep.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import { sweepRecordSchema } from '../../job/shared/sweep-record.js';
import { JOB_DEF, NOW, QUEUE, recorder } from './sweep-recorder.js';

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
    // Only the command's text is dropped: Node's test runner reports this file's results through the
    // same stdout as binary chunks, and swallowing those lost other tests' reports at random.
    process.stdout.write = ((chunk: string | Uint8Array) => (typeof chunk === 'string' ? true : write.call(process.stdout, chunk))) as typeof process.stdout.write;
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
