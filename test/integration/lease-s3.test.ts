/**
 * One holder per run id on S3, with real conditional writes: LocalStack applies `If-None-Match: *` and
 * `If-Match` on PutObject atomically, as S3 does (test/support/s3-server.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { JobError } from '../../job/errors.js';
import { conditionalObject, honoursConditionalWrites } from '../../job/storage/conditional.js';
import { acquireLease, LEASE_KEY } from '../../job/storage/lease.js';
import { openStorage } from '../../job/storage/open.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const BUCKET = 'mixup-lease';

describe('run lease on S3 (LocalStack)', () => {
  let s3: S3Server;
  let env: NodeJS.ProcessEnv;
  const savedEnv = { ...process.env };

  before(async () => {
    s3 = await startS3Server();
    env = { ...s3.env, AWS_MAX_ATTEMPTS: '2' };
    Object.assign(process.env, env);
    await s3.createBucket(BUCKET);
  });

  after(async () => {
    await s3?.stop();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  test('the second holder is refused naming the first; a stale lease is taken over by exactly one of two', async () => {
    const run = openStorage(`s3://${BUCKET}/runs`, '--out', { env }).child('r1');
    const first = await acquireLease(run, { runId: 'r1', env: {} });
    await assert.rejects(acquireLease(run, { runId: 'r1', env: {} }), (error: unknown) =>
      error instanceof JobError && /^run r1 is in use by pid \d+ on .*lease renewed \d+ s ago, s3:\/\/mixup-lease\/runs\/r1\/lease\.json/.test(error.message));
    await first.renew();
    first.assertHeld();
    await first.release();
    assert.equal(await run.exists(LEASE_KEY), false);

    const dead = { token: 'x', host: 'lost-host', pid: 1, batchJobId: null, renewedAt: new Date(Date.now() - 60_000).toISOString(), ttlSeconds: 5 };
    await run.write(LEASE_KEY, JSON.stringify(dead), 'application/json');
    const outcomes = await Promise.allSettled([acquireLease(run, { runId: 'r1', env: {} }), acquireLease(run, { runId: 'r1', env: {} })]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    assert.match(String(lost.reason.message), /in use by pid/);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLease>>>).value.release();
  });

  test('moto honours If-None-Match: * (412 on the second create), so a run starts without MIXUP_ALLOW_UNSAFE_STORE', async () => {
    const run = openStorage(`s3://${BUCKET}/runs`, '--out', { env }).child('r3');
    assert.equal(await honoursConditionalWrites(conditionalObject(run, 'probe.json')), true);
    const told: string[] = [];
    const lease = await acquireLease(run, { runId: 'r3', env: {}, onUnsafeStore: (line) => told.push(line) });
    assert.deepEqual(told, []);
    assert.deepEqual((await run.list()).map((o) => o.key), [LEASE_KEY], 'the probe left nothing behind');
    await lease.release();
  });

  test('a holder whose lease was taken over learns it at its next renewal', async () => {
    const run = openStorage(`s3://${BUCKET}/runs`, '--out', { env }).child('r2');
    const earlier = await acquireLease(run, { runId: 'r2', env: { AWS_BATCH_JOB_ID: 'job-7' } });
    const retry = await acquireLease(run, { runId: 'r2', env: { AWS_BATCH_JOB_ID: 'job-7' } });
    await earlier.renew();
    assert.throws(() => earlier.assertHeld(), /run r2 was taken over by .*AWS Batch job job-7/);
    await retry.release();
  });
});
