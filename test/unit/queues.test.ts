/** The queue registry (job/shared/queues.ts): what the stack, sweep, doctor and the cost estimate share. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_QUEUE, describeQueues, jobReservation, queueSpec, QUEUES } from '../../job/shared/queues.js';
import { BUCKET_PARAMETERS, QUEUE_PARAMETERS, SSM_PARAMETERS, ssmParameterName } from '../../job/shared/stack.js';
import { flagFor } from '../../scripts/batch-client.js';

test('the GPU queue comes first (the default) and keeps the SSM names it had before the CPU queue existed', () => {
  assert.deepEqual(QUEUES, ['gpu', 'cpu']);
  assert.equal(DEFAULT_QUEUE, 'gpu');
  assert.equal(ssmParameterName('MixupBatch', QUEUE_PARAMETERS.gpu.jobQueue), '/MixupBatch/job-queue-arn');
  assert.equal(ssmParameterName('MixupBatch', QUEUE_PARAMETERS.cpu.jobDefinition), '/MixupBatch/cpu-job-definition-arn');
});

test('no two parameters or outputs share a name: each queue is published apart', () => {
  const names = Object.values(SSM_PARAMETERS);
  assert.equal(new Set(names).size, names.length);
  assert.equal(names.length, Object.keys(BUCKET_PARAMETERS).length + 2 * QUEUES.length);
  const outputs = QUEUES.flatMap((queue) => Object.values(queueSpec(queue).outputs));
  assert.equal(new Set(outputs).size, outputs.length);
});

test('each queue parameter is replaced by --job-queue or --job-definition, the buckets by --data and --results', () => {
  for (const queue of QUEUES) {
    assert.equal(flagFor(QUEUE_PARAMETERS[queue].jobQueue), '--job-queue');
    assert.equal(flagFor(QUEUE_PARAMETERS[queue].jobDefinition), '--job-definition');
  }
  assert.equal(flagFor('dataBucket'), '--data');
  assert.equal(flagFor('resultsBucket'), '--results');
});

test('a Fargate job reserves per arm, a GPU job a whole instance whatever it trains', () => {
  assert.deepEqual(jobReservation('cpu'), { vcpus: 1, memoryMiB: 2048, gpus: 0 });
  assert.deepEqual(jobReservation('cpu', 2), { vcpus: 2, memoryMiB: 4096, gpus: 0 });
  assert.deepEqual(jobReservation('gpu', 2), jobReservation('gpu'));
});

test('the --queue help names every queue with its compute kind', () => {
  assert.equal(describeQueues(), 'gpu (EC2: GPU instances, Spot first, then on-demand), cpu (Fargate: the CPU image, Fargate Spot first, then on-demand)');
});
