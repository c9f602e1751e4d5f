import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { JobError, UsageError } from '../../job/errors.js';
import { createS3Client } from '../../job/storage/s3-client.js';
import { isTransientS3Error, type OutageWait, OutageError, withOutageRetry } from '../../job/storage/s3-retry.js';
import { DEFAULT_OUTAGE_SECONDS, DEFAULT_SOCKET_TIMEOUT_MS, s3TimeoutsFrom } from '../../job/storage/s3-timeouts.js';

describe('S3 timeouts', () => {
  test('defaults: 5 s to connect, 30 s of socket inactivity, 300 s of outage', () => {
    assert.deepEqual(s3TimeoutsFrom({}), { connectionTimeoutMs: 5_000, socketTimeoutMs: DEFAULT_SOCKET_TIMEOUT_MS, outageMs: DEFAULT_OUTAGE_SECONDS * 1000 });
    assert.ok(DEFAULT_OUTAGE_SECONDS >= 60);
  });

  test('the environment shrinks them; a bad value is one usage line naming the variable', () => {
    assert.deepEqual(s3TimeoutsFrom({ MIXUP_S3_TIMEOUT_MS: '300', MIXUP_S3_OUTAGE_SECONDS: '2' }), { connectionTimeoutMs: 300, socketTimeoutMs: 300, outageMs: 2000 });
    assert.throws(() => s3TimeoutsFrom({ MIXUP_S3_TIMEOUT_MS: 'soon' }), (e: unknown) => e instanceof UsageError && /MIXUP_S3_TIMEOUT_MS='soon'/.test(e.message));
  });

  test('the client is given a connection and a socket timeout the pinned handler enforces', async () => {
    const client = createS3Client({ env: { MIXUP_S3_TIMEOUT_MS: '1234' } });
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    const config = await handler.configProvider;
    assert.equal(config.connectionTimeout, 1234);
    assert.equal(config.socketTimeout, 1234);
    client.destroy();
  });
});

describe('withOutageRetry', () => {
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  test('transient: network codes, timeouts, 5xx, 429; not: 403, 404, JobError', () => {
    assert.ok(isTransientS3Error(reset()));
    assert.ok(isTransientS3Error(Object.assign(new Error('x'), { name: 'TimeoutError' })));
    assert.ok(isTransientS3Error(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })));
    assert.ok(isTransientS3Error(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } })));
    assert.ok(!isTransientS3Error(Object.assign(new Error('x'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })));
    assert.ok(!isTransientS3Error(Object.assign(new Error('x'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } })));
    assert.ok(!isTransientS3Error(new JobError('bad')));
  });

  test('waits 1, 2, 4 … s while failing, one report per wait, then succeeds', async () => {
    const waits: OutageWait[] = [];
    const slept: number[] = [];
    let calls = 0;
    const value = await withOutageRetry(async () => (++calls < 4 ? Promise.reject(reset()) : 'ok'), 's3://b/k', {
      outageMs: 300_000,
      endpoint: 'http://e',
      onWait: (w) => waits.push(w),
      sleep: async (ms) => void slept.push(ms),
    });
    assert.equal(value, 'ok');
    assert.deepEqual(slept, [1000, 2000, 4000]);
    assert.deepEqual(waits.map((w) => [w.endpoint, w.uri, w.retryInSeconds, w.cause]), [
      ['http://e', 's3://b/k', 1, 'ECONNRESET'],
      ['http://e', 's3://b/k', 2, 'ECONNRESET'],
      ['http://e', 's3://b/k', 4, 'ECONNRESET'],
    ]);
  });

  test('a non-transient error is thrown at once', async () => {
    let calls = 0;
    const denied = Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await assert.rejects(withOutageRetry(async () => { calls++; throw denied; }, 'u', { outageMs: 10_000, endpoint: 'e', sleep: async () => {} }), denied);
    assert.equal(calls, 1);
  });

  test('an outage past the budget ends with an OutageError carrying the time waited', async () => {
    await assert.rejects(
      withOutageRetry(() => Promise.reject(reset()), 'u', { outageMs: 200, endpoint: 'e' }),
      (e: unknown) => e instanceof OutageError && e.message === 'ECONNRESET' && e.waitedSeconds >= 0.1 && e.waitedSeconds <= 0.3,
    );
  });
});
