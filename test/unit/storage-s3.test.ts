import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { JobError, NotFoundError, UsageError } from '../../job/errors.js';
import { contentTypeOf } from '../../job/storage/content-type.js';
import { createS3Client, DEFAULT_MAX_ATTEMPTS, endpointFrom, maxAttemptsFrom } from '../../job/storage/s3-client.js';
import { mapS3Error } from '../../job/storage/s3-errors.js';
import { S3Storage } from '../../job/storage/s3.js';
import { parseS3Uri } from '../../job/storage/s3-uri.js';
import { CHECKPOINT_TAGS } from '../../job/shared/layout.js';

describe('parseS3Uri', () => {
  test('splits bucket and prefix, dropping slashes at either end of the prefix', () => {
    assert.deepEqual(parseS3Uri('s3://bucket-1/a/b/'), { bucket: 'bucket-1', prefix: 'a/b' });
    assert.deepEqual(parseS3Uri('s3://bucket.example'), { bucket: 'bucket.example', prefix: '' });
  });

  for (const [uri, rule] of [
    ['s3://ab/x', /3 to 63 characters/],
    [`s3://${'a'.repeat(64)}`, /3 to 63 characters/],
    ['s3://Upper/x', /lower-case letters/],
    ['s3://-dash/x', /start and end with a letter or digit/],
    ['s3://a..b/x', /two adjacent dots/],
    ['s3://192.168.1.1/x', /IP address/],
    ['s3://bucket/a//b', /empty, '\.' or '\.\.' segments/],
    ['s3://bucket/a/../b', /empty, '\.' or '\.\.' segments/],
  ] as const) {
    test(`rejects ${uri} with a usage error naming the rule`, () => {
      assert.throws(() => parseS3Uri(uri, '--data'), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^--data 's3:\/\//);
        assert.match(error.message, rule);
        return true;
      });
    });
  }
});

describe('S3 client settings', () => {
  test('AWS_MAX_ATTEMPTS sets the attempts; unset means the default', () => {
    assert.equal(maxAttemptsFrom({ AWS_MAX_ATTEMPTS: '2' }), 2);
    assert.equal(maxAttemptsFrom({}), DEFAULT_MAX_ATTEMPTS);
  });

  test('a malformed AWS_MAX_ATTEMPTS is a usage error naming the variable, value and rule', () => {
    assert.throws(() => maxAttemptsFrom({ AWS_MAX_ATTEMPTS: 'many' }), /AWS_MAX_ATTEMPTS='many' must be a whole number of at least 1/);
    assert.throws(() => maxAttemptsFrom({ AWS_MAX_ATTEMPTS: '0' }), UsageError);
  });

  test('the S3-specific endpoint wins over the general one', () => {
    assert.equal(endpointFrom({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b' }), 'http://b');
    assert.equal(endpointFrom({ AWS_ENDPOINT_URL: 'http://a' }), 'http://a');
    assert.equal(endpointFrom({}), undefined);
  });

  test('path-style addressing is on exactly when an endpoint is configured', () => {
    assert.equal(createS3Client({ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' } }).config.forcePathStyle, true);
    assert.equal(createS3Client({ env: {} }).config.forcePathStyle, false);
  });
});

describe('mapS3Error', () => {
  const uri = 's3://bucket-1/run/metrics.json';
  const sdkError = (name: string, status: number | undefined, extra: object = {}) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status, attempts: 3 } }, extra);

  test('NoSuchKey and a bare 404 become NotFoundError naming the URI', () => {
    for (const error of [sdkError('NoSuchKey', 404), sdkError('NotFound', 404), sdkError('UnknownError', 404)]) {
      const mapped = mapS3Error(error, uri, 'bucket-1');
      assert.ok(mapped instanceof NotFoundError);
      assert.equal(mapped.message, `not found: ${uri}`);
    }
  });

  test('NoSuchBucket names the bucket', () => {
    const mapped = mapS3Error(sdkError('NoSuchBucket', 404), uri, 'bucket-1');
    assert.ok(mapped instanceof JobError && !(mapped instanceof NotFoundError));
    assert.match(mapped.message, /^bucket does not exist: s3:\/\/bucket-1 /);
  });

  test('AccessDenied names the URI', () => {
    assert.match(mapS3Error(sdkError('AccessDenied', 403), uri, 'bucket-1').message, /^access denied to s3:\/\/bucket-1\/run\/metrics\.json/);
  });

  test('a network failure names the endpoint, the URI and the attempts, in one line', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } });
    const mapped = mapS3Error(error, uri, 'bucket-1', 'http://127.0.0.1:9');
    assert.ok(mapped instanceof JobError);
    assert.equal(mapped.message, `cannot reach http://127.0.0.1:9 for ${uri} after 3 attempts (ECONNREFUSED)`);
  });

  test('a persistent server error says which request failed and how', () => {
    const mapped = mapS3Error(sdkError('SlowDown', 503), uri, 'bucket-1');
    assert.equal(mapped.message, `S3 request for ${uri} failed after 3 attempts: HTTP 503 SlowDown — SlowDown happened`);
  });

  test('a programming error passes through untouched, keeping its stack', () => {
    const bug = new TypeError('x is undefined');
    assert.equal(mapS3Error(bug, uri, 'bucket-1'), bug);
  });
});

describe('contentTypeOf', () => {
  test('maps the run artifact extensions and falls back to octet-stream', () => {
    assert.equal(contentTypeOf('metrics.json'), 'application/json');
    assert.equal(contentTypeOf('mixup/curves.PNG'), 'image/png');
    assert.equal(contentTypeOf('history.csv'), 'text/csv');
    assert.equal(contentTypeOf('report.html'), 'text/html');
    assert.equal(contentTypeOf('model/weights.bin'), 'application/octet-stream');
    assert.equal(contentTypeOf('SHA256SUMS'), 'application/octet-stream');
  });
});

describe('S3Storage object tags', () => {
  test('checkpoint objects carry the tag the lifecycle rule expires them by', async () => {
    const sent: { input: { Tagging?: string; Key?: string } }[] = [];
    const client = { send: async (command: { input: { Tagging?: string } }) => { sent.push(command); return {}; } };
    const storage = new S3Storage({ bucket: 'results', prefix: 'runs/r1' }, { client: client as never, env: {} });
    await storage.write('checkpoints/state.json', '{}', 'application/json', CHECKPOINT_TAGS);
    await storage.write('metrics.json', '{}', 'application/json');
    assert.equal(sent[0]!.input.Key, 'runs/r1/checkpoints/state.json');
    assert.equal(sent[0]!.input.Tagging, 'kind=checkpoint');
    assert.equal(sent[1]!.input.Tagging, undefined);
  });
});
