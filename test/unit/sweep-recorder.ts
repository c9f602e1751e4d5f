/** A sweep's dependencies as test doubles that record what a sweep asks Batch and SSM, for the sweep and command tests. */
import type { SubmitJobCommandInput } from '@aws-sdk/client-batch';

import type { BatchApi, SsmApi } from '../../scripts/batch-client.js';
import type { SweepDeps } from '../../scripts/sweep/deps.js';
import { memoryOpener } from './sweep-fixtures.js';

export const NOW = new Date('2026-03-04T05:06:07.890Z');
export const QUEUE = 'arn:aws:batch:eu-west-1:123456789012:job-queue/mixup';
export const JOB_DEF = 'arn:aws:batch:eu-west-1:123456789012:job-definition/mixup:3';

export interface Recorder {
  deps: SweepDeps;
  objects: Map<string, Buffer>;
  submitted: SubmitJobCommandInput[];
  ssmNames: string[][];
  logs: string[];
  statusLines: string[];
  /** sweep.json as it was when SubmitJob was called. */
  recordAtSubmit: unknown;
}

export function recorder(overrides: Partial<Omit<SweepDeps, 'batch'>> & { batch?: Partial<BatchApi>; ssmValues?: Record<string, string> } = {}): Recorder {
  const { objects, openStorage } = memoryOpener();
  const rec: Recorder = {
    objects,
    submitted: [],
    ssmNames: [],
    logs: [],
    statusLines: [],
    recordAtSubmit: undefined,
    deps: undefined as unknown as SweepDeps,
  };
  const batch: BatchApi = {
    submitJob: async (input) => {
      rec.submitted.push(input);
      const sweepFile = [...objects.keys()].find((key) => key.endsWith('/sweep.json'));
      rec.recordAtSubmit = sweepFile ? JSON.parse(objects.get(sweepFile)!.toString()) : undefined;
      return { jobId: 'job-123', jobArn: 'arn:aws:batch:eu-west-1:123456789012:job/job-123', jobName: input.jobName, $metadata: {} };
    },
    describeJobs: async () => {
      throw new Error('describeJobs not expected');
    },
    listJobs: async () => [],
    ...overrides.batch,
  };
  const ssm: SsmApi = {
    getParameters: async (names) => {
      rec.ssmNames.push(names);
      const values = overrides.ssmValues ?? {
        '/MixupBatch/job-queue-arn': QUEUE,
        '/MixupBatch/job-definition-arn': JOB_DEF,
        '/MixupBatch/results-bucket': 'mixup-results-123',
        '/MixupBatch/data-bucket': 'mixup-data-123',
      };
      return Object.fromEntries(names.filter((n) => values[n] !== undefined).map((n) => [n, values[n]!]));
    },
  };
  const { batch: _ignored, ssmValues: _values, ...rest } = overrides;
  rec.deps = {
    ssm: () => ssm,
    openStorage,
    now: () => NOW,
    spawn: () => {
      throw new Error('spawn not expected');
    },
    cli: { command: '/usr/bin/node', args: ['cli.js'] },
    env: {},
    log: (line) => rec.logs.push(line),
    sleep: async () => {},
    ...rest,
    batch: () => batch,
  };
  return rec;
}
