/** `mixup doctor` on the command line: its flags, and what it loads before it runs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { heavyPackagesLoaded } from '../../support/user-cli.js';

describe('mixup doctor on the command line', () => {
  test('--help names its flags and loads neither TensorFlow.js, nor an AWS SDK, nor the canvas', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['doctor', '--help']);
    assert.equal(result.code, 0);
    for (const flag of ['--stack-name', '--queue', '--job-queue', '--job-definition', '--data']) assert.match(result.stdout, new RegExp(flag));
    assert.deepEqual(heavy, []);
  });

  test('an unknown queue is a usage error before any AWS client is made', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['doctor', '--queue', 'tpu']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^mixup: option '--queue <queue>' argument 'tpu' is invalid/);
    assert.deepEqual(heavy, []);
  });

  test('running, it loads the AWS SDKs it calls, and never TensorFlow.js', async () => {
    // No credentials, no network: the first SSM call fails, after the SDKs it would call have loaded.
    const env = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' };
    const { result, heavy } = await heavyPackagesLoaded(['doctor'], { env, allow: /^(@aws-sdk|@smithy)\// });
    assert.equal(result.code, 1);
    assert.deepEqual(heavy, []);
  });
});
