import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { ComputeEnvironmentDetail, DescribeJobsCommandOutput, JobSummary } from '@aws-sdk/client-batch';

import { JobError } from '../../job/errors.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import type { DoctorApi } from '../../scripts/doctor/aws.js';
import { hint } from '../../scripts/sweep/runnable.js';
import { waitForBatch } from '../../scripts/sweep/wait.js';

const QUEUE = 'arn:aws:batch:eu-west-1:123456789012:job-queue/q';
const record = {
  sweepId: 'study',
  runs: [{ runId: 'a0-s1' }, { runId: 'a0.2-s1' }, { runId: 'a0.4-s1' }],
  batch: { jobQueue: QUEUE, jobDefinition: 'arn:aws:batch:eu-west-1:123456789012:job-definition/d:1' },
} as unknown as SweepRecord;

/** A clock that each sleep moves forward, and a job that stays RUNNABLE for `runnablePolls` polls. */
function world(options: { runnablePolls: number; quota?: number; ceReason?: string; childReason?: string; doctor?: boolean }) {
  let clock = Date.parse('2026-12-02T12:00:00Z');
  let polls = 0;
  const logs: string[] = [];
  const listed: unknown[] = [];
  const environment: ComputeEnvironmentDetail = {
    computeEnvironmentName: 'SpotGpu', computeEnvironmentArn: 'ce-spot', ecsClusterArn: 'c', state: 'ENABLED', status: 'VALID',
    statusReason: options.ceReason,
    computeResources: { type: 'SPOT', maxvCpus: 64, desiredvCpus: 0, instanceTypes: ['g4dn'], subnets: [] },
  } as ComputeEnvironmentDetail;
  const doctor: DoctorApi = {
    describeJobQueue: async () => ({ jobQueueName: 'q', jobQueueArn: QUEUE, priority: 1, state: 'ENABLED', computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce-spot' }] }),
    describeComputeEnvironments: async () => [environment],
    describeJobDefinition: async () => ({ jobDefinitionName: 'd', jobDefinitionArn: 'd', revision: 1, type: 'container', containerProperties: { resourceRequirements: [{ type: 'VCPU', value: '4' }] } }),
    imageExists: async () => true,
    quotaValue: async () => options.quota ?? 64,
    roleExists: async () => true,
  };
  const deps = {
    batch: () => ({
      submitJob: async () => { throw new Error('not expected'); },
      describeJobs: async (): Promise<DescribeJobsCommandOutput> => {
        polls++;
        const running = polls <= options.runnablePolls;
        return {
          $metadata: {},
          jobs: [{
            jobId: 'job-1', jobName: 'j', jobQueue: QUEUE, jobDefinition: 'd', startedAt: 0,
            status: running ? 'PENDING' : 'SUCCEEDED',
            arrayProperties: { statusSummary: running ? { RUNNABLE: 3 } : { SUCCEEDED: 3 }, size: 3 },
          }] as DescribeJobsCommandOutput['jobs'],
        };
      },
      listJobs: async (input: unknown): Promise<JobSummary[]> => {
        listed.push(input);
        return [{ jobId: 'job-1:0', jobName: 'j', statusReason: options.childReason }];
      },
    }),
    log: (line: string) => logs.push(line),
    sleep: async (ms: number) => { clock += ms; },
    now: () => new Date(clock),
    ...(options.doctor === false ? {} : { doctor: () => doctor }),
  };
  return { deps, logs, listed };
}

describe('sweep --wait never waits blind', () => {
  test('children RUNNABLE for 5 minutes get the environments, their quota and a quota hint', async () => {
    const { deps, logs, listed } = world({ runnablePolls: 12, quota: 0 });
    const outcome = await waitForBatch(record, 'job-1', 30, deps);
    assert.deepEqual(outcome.failed, []);
    const at = logs.findIndex((line) => line.startsWith('children RUNNABLE for 5 min'));
    assert.ok(at >= 0, logs.join('\n'));
    assert.match(logs[at + 1]!, /^ {2}SpotGpu: ENABLED\/VALID, desired 0 of max 64 vCPUs, g4dn, quota L-3819A6DF = 0 vCPUs$/);
    assert.match(logs[at + 2]!, /^ {2}hint: a vCPU quota is below what a job needs/);
    assert.deepEqual(listed[0], { arrayJobId: 'job-1', jobStatus: 'RUNNABLE' });
    assert.equal(logs.filter((line) => line.startsWith('children RUNNABLE')).length, 1, 'not repeated within 5 minutes');
  });

  test('child and environment status reasons are shown; a capacity reason gets the capacity hint', async () => {
    const { deps, logs } = world({ runnablePolls: 12, childReason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested' });
    await waitForBatch(record, 'job-1', 30, deps);
    assert.ok(logs.includes('  child status: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested'), logs.join('\n'));
    assert.ok(logs.some((line) => /hint: AWS has no spare capacity/.test(line)));
  });

  test('a short RUNNABLE spell gets no diagnosis', async () => {
    const { deps, logs } = world({ runnablePolls: 3 });
    await waitForBatch(record, 'job-1', 30, deps);
    assert.equal(logs.some((line) => line.startsWith('children RUNNABLE')), false);
  });

  test('--timeout stops with one line naming the job, and the way to results or cancel', async () => {
    const { deps } = world({ runnablePolls: 1000 });
    await assert.rejects(waitForBatch(record, 'job-1', 60, deps, 600), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.match(error.message, /^--timeout 600s: stopped waiting for sweep study \(job job-1\); its jobs keep running\. .*mixup results --sweep study.*aws batch cancel-job --job-id job-1/);
      return true;
    });
  });

  test('without the doctor client the diagnosis still points at mixup doctor', async () => {
    const { deps, logs } = world({ runnablePolls: 12, doctor: false });
    await waitForBatch(record, 'job-1', 30, deps);
    assert.ok(logs.some((line) => /hint: run mixup doctor/.test(line)));
  });

  test('hints by reason', () => {
    assert.match(hint('CLIENT_ERROR - VcpuLimitExceeded', false), /quota/);
    assert.match(hint('MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - no instance type', false), /fits the job/);
    assert.match(hint('', false), /cold GPU instance/);
  });
});
