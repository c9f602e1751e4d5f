/**
 * A store that ignores conditional writes: s3rver answers a PUT with `If-None-Match: *` on an existing
 * key with 200 and overwrites it, so the run lease could not keep a second process out. A run refuses to
 * start there, in one line naming the endpoint, unless MIXUP_ALLOW_UNSAFE_STORE=1. s3rver is started
 * here on its own (not through test/support/s3-server.ts, which may give LocalStack): it is the unsafe
 * store this test needs. Its counterpart on a store that honours them (moto) is in lease-s3.test.ts.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { UsageError } from '../../job/errors.js';
import { conditionalObject, honoursConditionalWrites } from '../../job/storage/conditional.js';
import { acquireLease, LEASE_KEY } from '../../job/storage/lease.js';
import { openStorage } from '../../job/storage/open.js';

const require = createRequire(import.meta.url);
type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void>; httpServer?: Server };
const BUCKET = 'mixup-unsafe';
// s3rver checks signatures against its one built-in key pair.
const KEY = 'S3RVER';

describe('run lease on a store that ignores conditional writes (s3rver)', () => {
  let server: S3rver;
  let directory: string;
  let endpoint: string;
  const savedEnv = { ...process.env };

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'mixup-unsafe-'));
    const S3rverClass = require('s3rver') as new (options: Record<string, unknown>) => S3rver;
    server = new S3rverClass({ address: '127.0.0.1', port: 0, silent: true, directory });
    endpoint = `http://127.0.0.1:${(await server.run()).port}`;
    // Region and credentials come from the SDK's chains, which read process.env.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: KEY,
      AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '2',
    });
    delete process.env.MIXUP_ALLOW_UNSAFE_STORE;
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    client.destroy();
  });

  after(async () => {
    server?.httpServer?.closeAllConnections();
    await server?.close();
    await rm(directory, { recursive: true, force: true });
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
