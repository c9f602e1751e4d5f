import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { JobDefinition, JobDetail } from '@aws-sdk/client-batch';

import {
  DEFAULT_LOG_GROUP,
  createFailureApis,
  describeFailedChildren,
  formatFailures,
  logGroupOf,
  reportFailures,
  type FailureApis,
} from '../../scripts/sweep/failures.js';

const RUNS = [
  { index: 0, alpha: 0.1, seed: 1, runId: 'alpha-0.1_seed-1' },
  { index: 1, alpha: 0.1, seed: 2, runId: 'alpha-0.1_seed-2' },
  { index: 2, alpha: 0.4, seed: 1, runId: 'alpha-0.4_seed-1' },
  { index: 3, alpha: 0.4, seed: 2, runId: 'alpha-0.4_seed-2' },
];
const JOB_DEF = 'arn:aws:batch:us-east-1:123456789012:job-definition/mixup:1';
const DEFINITION: JobDefinition = {
  jobDefinitionName: 'mixup',
  jobDefinitionArn: JOB_DEF,
  revision: 1,
  type: 'container',
  containerProperties: { logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'MixupBatch-JobLogs' } } },
};

function child(index: number, extra: Partial<JobDetail> = {}): JobDetail {
  return {
    jobId: `parent:${index}`,
    jobName: 'mixup-sweep-x',
    jobQueue: 'q',
    status: 'FAILED',
    startedAt: 1,
    jobDefinition: JOB_DEF,
    statusReason: 'Essential container in task exited',
    container: { exitCode: 1, logStreamName: `mixup/default/task-${index}` },
    ...extra,
  } as JobDetail;
}

/** Records calls; logs exist only in `groups`. */
function fakeApis(jobs: JobDetail[], groups: Record<string, Record<string, string[]>>) {
  const calls = { describeJobs: [] as string[][], logTail: [] as string[] };
  const apis: FailureApis = {
    describeJobs: async (ids) => {
      calls.describeJobs.push(ids);
      return jobs.filter((job) => ids.includes(job.jobId!));
    },
    describeJobDefinition: async (arn) => (arn === JOB_DEF ? DEFINITION : undefined),
    logTail: async (group, stream, lines) => {
      calls.logTail.push(`${group} ${stream} ${lines}`);
      const events = groups[group]?.[stream];
      if (!events) throw new Error('The specified log stream does not exist.');
      return events.slice(-lines);
    },
  };
  return { apis, calls };
}

describe('failed sweep children', () => {
  test('each failed child: its point, the status reason, exit code and the last log lines from the definition\'s group', async () => {
    const { apis, calls } = fakeApis([child(1), child(3)], {
      'MixupBatch-JobLogs': {
        'mixup/default/task-1': ['start', 'loading data', "could not read s3://data/missing/train-images-idx3-ubyte.gz: NoSuchKey"],
        'mixup/default/task-3': ['start', 'out of memory'],
      },
    });
    const children = await describeFailedChildren([RUNS[1]!, RUNS[3]!], 'parent', true, apis, 2);
    assert.deepEqual(calls.describeJobs, [['parent:1', 'parent:3']]);
    assert.deepEqual(calls.logTail, ['MixupBatch-JobLogs mixup/default/task-1 2', 'MixupBatch-JobLogs mixup/default/task-3 2']);
    assert.deepEqual(children.map((c) => [c.alpha, c.seed, c.statusReason, c.exitCode, c.tail]), [
      [0.1, 2, 'Essential container in task exited', 1, ['loading data', 'could not read s3://data/missing/train-images-idx3-ubyte.gz: NoSuchKey']],
      [0.4, 2, 'Essential container in task exited', 1, ['start', 'out of memory']],
    ]);
    const text = formatFailures(children);
    assert.match(text, /^failed: α = 0\.1, seed 2 \(alpha-0\.1_seed-2, job parent:1\): Essential container in task exited, exit code 1$/m);
    assert.match(text, /last 2 log line\(s\) of MixupBatch-JobLogs mixup\/default\/task-1:\n {4}\| loading data\n {4}\| could not read s3:\/\/data\/missing/);
    assert.match(text, /^failed: α = 0\.4, seed 2 .*\n.*\n {4}\| start\n {4}\| out of memory$/m);
  });

  test("a stream missing from the definition's group is read from Batch's default group", async () => {
    const { apis, calls } = fakeApis([child(0)], { [DEFAULT_LOG_GROUP]: { 'mixup/default/task-0': ['boom'] } });
    const [failed] = await describeFailedChildren([RUNS[0]!], 'parent', true, apis);
    assert.deepEqual(failed!.log, { group: DEFAULT_LOG_GROUP, stream: 'mixup/default/task-0' });
    assert.deepEqual(failed!.tail, ['boom']);
    assert.equal(calls.logTail.length, 2);
  });

  test('no stream, no job, unreadable logs: said in one line each, never thrown', async () => {
    const neverStarted = child(0, { container: {}, statusReason: 'Job cancelled: capacity' });
    const { apis } = fakeApis([neverStarted, child(2)], {});
    const children = await describeFailedChildren([RUNS[0]!, RUNS[1]!, RUNS[2]!], 'parent', true, apis);
    const text = formatFailures(children);
    assert.match(text, /seed 1 \(alpha-0\.1_seed-1, job parent:0\): Job cancelled: capacity\n {2}log: no log stream/);
    assert.match(text, /job parent:1\): no status reason from Batch\n {2}log: AWS Batch does not describe job parent:1/);
    assert.match(text, /job parent:2\).*\n {2}log: could not read log stream mixup\/default\/task-2 \(MixupBatch-JobLogs: The specified log stream does not exist\.; \/aws\/batch\/job: /);

    const lines: string[] = [];
    const broken: FailureApis = { ...apis, describeJobs: async () => { throw new Error('ExpiredToken'); } };
    await reportFailures({ runs: RUNS, batch: { arraySize: 4 } }, 'parent', ['alpha-0.4_seed-1'], (line) => lines.push(line), broken);
    assert.deepEqual(lines, ['could not describe the failed runs of job parent: ExpiredToken']);
  });

  test('a one-point sweep is the plain job; a definition without awslogs uses the default group', async () => {
    const { apis, calls } = fakeApis([{ ...child(0), jobId: 'plain' }], { [DEFAULT_LOG_GROUP]: { 'mixup/default/task-0': ['x'] } });
    const lines: string[] = [];
    await reportFailures({ runs: [RUNS[0]!], batch: { arraySize: null } }, 'plain', ['alpha-0.1_seed-1'], (line) => lines.push(line), apis);
    assert.deepEqual(calls.describeJobs, [['plain']]);
    assert.match(lines.join('\n'), /job plain\)/);
    assert.equal(logGroupOf(undefined), DEFAULT_LOG_GROUP);
    assert.equal(logGroupOf({ ...DEFINITION, containerProperties: { logConfiguration: { logDriver: 'json-file' } } }), DEFAULT_LOG_GROUP);
    assert.equal(logGroupOf(DEFINITION), 'MixupBatch-JobLogs');
  });

  test('the SDK-backed calls: DescribeJobs in pages of 100, GetLogEvents from the end', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const sender = {
      send: async (command: object) => {
        const { input } = command as { input: Record<string, unknown> };
        sent.push({ name: command.constructor.name, input });
        if (command.constructor.name === 'GetLogEventsCommand') return { events: [{ message: 'a\n' }, { message: 'b' }] };
        return { jobs: [] };
      },
    };
    const apis = createFailureApis(sender, sender);
    await apis.describeJobs(Array.from({ length: 150 }, (_, i) => `p:${i}`));
    assert.deepEqual(await apis.logTail('g', 's', 5), ['a', 'b']);
    assert.deepEqual(sent.map((call) => call.name), ['DescribeJobsCommand', 'DescribeJobsCommand', 'GetLogEventsCommand']);
    assert.equal((sent[0]!.input.jobs as string[]).length, 100);
    assert.deepEqual(sent[2]!.input, { logGroupName: 'g', logStreamName: 's', limit: 5, startFromHead: false });
  });
});
