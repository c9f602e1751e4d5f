/**
 * A store that ignores conditional writes (as s3rver and some other S3-compatible servers do): a PUT with
 * `If-None-Match: *` on an existing key succeeds and overwrites, so the run lease could not keep a second
 * process out. A run refuses to start there, in one line naming the endpoint, unless
 * MIXUP_ALLOW_UNSAFE_STORE=1. The store is the test S3 (LocalStack) behind a proxy that drops the
 * conditions (test/support/s3-ignoring-conditions.ts); the same S3 without the proxy honours them
 * (lease-s3.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { UsageError } from '../../job/errors.js';
import { conditionalObject, honoursConditionalWrites } from '../../job/storage/conditional.js';
import { acquireLease, LEASE_KEY } from '../../job/storage/lease.js';
import { openStorage } from '../../job/storage/open.js';
import { startS3IgnoringConditionalWrites, type IgnoringConditionsS3 } from '../support/s3-ignoring-conditions.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const BUCKET = 'mixup-unsafe';

describe('run lease on a store that ignores conditional writes', () => {
  let s3: S3Server;
  let proxy: IgnoringConditionsS3;
  let endpoint: string;
  const savedEnv = { ...process.env };

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    proxy = await startS3IgnoringConditionalWrites(s3.endpoint);
    endpoint = proxy.endpoint;
    // Region and credentials come from the SDK's chains, which read process.env.
    Object.assign(process.env, s3.env, { AWS_ENDPOINT_URL: endpoint, AWS_MAX_ATTEMPTS: '2' });
    delete process.env.AWS_ENDPOINT_URL_S3;
    delete process.env.MIXUP_ALLOW_UNSAFE_STORE;
  });

  after(async () => {
    await proxy?.stop();
    await s3?.stop();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  const runStorage = (runId: string) => openStorage(`s3://${BUCKET}/runs`, '--out').child(runId);

  test('the probe finds that a second create is not refused', async () => {
    const run = runStorage('probe');
    assert.equal(await honoursConditionalWrites(conditionalObject(run, 'probe.json')), false);
    assert.deepEqual(await run.list(), [], 'the probe removes its object');
  });

  test('a run is refused in one line naming the endpoint, and writes nothing', async () => {
    const run = runStorage('r1');
    await assert.rejects(acquireLease(run, { runId: 'r1', env: {} }), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(
        error.message,
        `the store at ${endpoint} ignores conditional writes (a second create with If-None-Match: * was not refused under s3://${BUCKET}/runs/r1), ` +
          "so two processes could both hold run r1 and overwrite each other's checkpoints; " +
          'use a store that honours them (AWS S3 does), or set MIXUP_ALLOW_UNSAFE_STORE=1 to run anyway',
      );
      return true;
    });
    assert.deepEqual(await run.list(), []);
  });

  test('MIXUP_ALLOW_UNSAFE_STORE=1 runs anyway and says so; any other value is refused', async () => {
    const run = runStorage('r2');
    const told: string[] = [];
    const lease = await acquireLease(run, { runId: 'r2', env: { MIXUP_ALLOW_UNSAFE_STORE: '1' }, onUnsafeStore: (line) => told.push(line) });
    assert.equal(told.length, 1);
    assert.match(told[0]!, new RegExp(`^the store at ${endpoint.replace(/\./g, '\\.')} ignores conditional writes .*; running anyway \\(MIXUP_ALLOW_UNSAFE_STORE=1\\)$`));
    assert.equal(await run.exists(LEASE_KEY), true);
    await lease.release();
    await assert.rejects(acquireLease(run, { runId: 'r2', env: { MIXUP_ALLOW_UNSAFE_STORE: 'yes' } }), (error: unknown) =>
      error instanceof UsageError && error.message === "MIXUP_ALLOW_UNSAFE_STORE='yes' must be 1 (run on a store that ignores conditional writes) or 0");
  });
});
