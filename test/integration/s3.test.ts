/**
 * S3 storage, manifest and seed-data against LocalStack's S3 on 127.0.0.1 (test/support/s3-server.ts).
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { JobError, NotFoundError } from '../../job/errors.js';
import { MANIFEST_KEY } from '../../job/shared/layout.js';
import { readManifest, verifyManifest, writeManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import { createS3Client } from '../../job/storage/s3-client.js';
import { S3Storage } from '../../job/storage/s3.js';
import { seedData } from '../../scripts/seed-data/seed-data.js';
import { FASHION_MNIST_FILES, writeFakeFashionMnist } from '../support/fake-dataset.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const run = promisify(execFile);
const BUCKET = 'mixup-test';
const MiB = 1024 * 1024;

let server: S3Server;
let work: string;
const savedEnv = { ...process.env };

before(async () => {
  server = await startS3Server();
  // The code under test reads its configuration from the environment, as it does in a Batch job.
  Object.assign(process.env, server.env, { AWS_MAX_ATTEMPTS: '2' });
  await server.createBucket(BUCKET);
  work = await mkdtemp(path.join(os.tmpdir(), 's3-it-'));
});

after(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

function commandsSeenBy(client: S3Client): string[] {
  const seen: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      seen.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return seen;
}

describe('S3Storage', () => {
  test('writes, reads, lists, checks and deletes objects under its prefix', async () => {
    const storage = openStorage(`s3://${BUCKET}/basic/run-1`);
    await storage.write('metrics.json', '{"ok":true}', 'application/json');
    await storage.write('mixup/history.csv', 'epoch,loss\n', 'text/csv');
    await storage.write('checkpoints/mixup.bin', Buffer.from([1, 2, 3]), 'application/octet-stream');
    await openStorage(`s3://${BUCKET}/basic/run-10`).write('metrics.json', '{}', 'application/json');

    assert.equal((await storage.read('metrics.json')).toString(), '{"ok":true}');
    assert.equal(await storage.exists('metrics.json'), true);
    assert.equal(await storage.exists('metrics'), false, 'a key prefix is not an object');
    assert.deepEqual(await storage.list(), [
      { key: 'checkpoints/mixup.bin', size: 3 },
      { key: 'metrics.json', size: 11 },
      { key: 'mixup/history.csv', size: 11 },
    ]);
    assert.deepEqual(await storage.list('checkpoints'), [{ key: 'checkpoints/mixup.bin', size: 3 }]);
    assert.deepEqual(await storage.child('mixup').list(), [{ key: 'history.csv', size: 11 }]);

    await storage.delete('checkpoints/mixup.bin');
    await storage.delete('checkpoints/mixup.bin');
    assert.equal(await storage.exists('checkpoints/mixup.bin'), false);
  });

  test('stores the content type it is given', async () => {
    const client = createS3Client();
    const storage = new S3Storage({ bucket: BUCKET, prefix: 'types' }, { client });
    const types = { 'a.json': 'application/json', 'b.png': 'image/png', 'c.csv': 'text/csv', 'd.bin': 'application/octet-stream' };
    for (const [key, type] of Object.entries(types)) await storage.write(key, Buffer.from('x'), type);
    for (const [key, type] of Object.entries(types)) {
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `types/${key}` }));
      assert.equal(head.ContentType, type, key);
    }
  });

  test('an object above the threshold goes up in parts and reads back intact', async () => {
    const client = createS3Client();
    const seen = commandsSeenBy(client);
    const storage = new S3Storage({ bucket: BUCKET, prefix: 'big' }, { client });
    const body = Buffer.alloc(12 * MiB);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    await storage.write('weights.bin', body, 'application/octet-stream');
    assert.deepEqual(seen.filter((name) => name !== 'PutObjectCommand').sort(), [
      'CompleteMultipartUploadCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
    ]);
    assert.ok((await storage.read('weights.bin')).equals(body));
  });

  test('a small object is one PUT', async () => {
    const client = createS3Client();
    const seen = commandsSeenBy(client);
    await new S3Storage({ bucket: BUCKET, prefix: 'small' }, { client }).write('a.json', '{}', 'application/json');
    assert.deepEqual(seen, ['PutObjectCommand']);
  });

  test('a missing key is NotFoundError naming the s3:// URI', async () => {
    const storage = openStorage(`s3://${BUCKET}/nothing-here`);
    await assert.rejects(storage.read('metrics.json'), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.message, `not found: s3://${BUCKET}/nothing-here/metrics.json`);
      return true;
    });
  });

  test('a missing bucket is one line naming the bucket, for reads, writes and existence checks alike', async () => {
    const storage = openStorage('s3://no-such-bucket-here/run');
    for (const attempt of [
      () => storage.read('metrics.json'),
      () => storage.write('metrics.json', '{}', 'application/json'),
      () => storage.exists('checkpoints/latest.json'),
      () => storage.list(),
    ]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof JobError && !(error instanceof NotFoundError), String(error));
        assert.match(error.message, /^bucket does not exist: s3:\/\/no-such-bucket-here /);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
  });
});

describe('manifest on S3', () => {
  test('is written after the artifacts, lists them with stored sizes and hashes, and verifies', async () => {
    const storage = openStorage(`s3://${BUCKET}/manifest/run-1`);
    assert.equal(await readManifest(storage), null, 'no manifest yet: incomplete');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]);
    await storage.write('metrics.json', '{"a":1}', 'application/json');
    await storage.write('mixup/samples.png', png, 'image/png');
    await storage.write('checkpoints/latest.json', '{}', 'application/json');
    const written = await writeManifest(storage, 'run-1', (await storage.list()).map((o) => o.key));
    assert.deepEqual(written.objects.map((o) => [o.key, o.size, o.contentType]), [
      ['metrics.json', 7, 'application/json'],
      ['mixup/samples.png', png.length, 'image/png'],
    ]);
    assert.equal(written.objects[1]!.sha256, createHash('sha256').update(png).digest('hex'));
    const manifest = await readManifest(storage);
    assert.deepEqual(manifest, written);
    assert.deepEqual(await verifyManifest(storage, manifest!), []);

    await storage.write('mixup/samples.png', Buffer.from('not a png'), 'image/png');
    const problems = await verifyManifest(storage, manifest!);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^s3:\/\/mixup-test\/manifest\/run-1\/mixup\/samples\.png has 9 bytes; the manifest says 7$/);
  });
});

describe('an upload that fails part-way', () => {
  test('fails within bounded time with one line naming the endpoint, leaves no manifest and keeps earlier objects', async () => {
    const proxy = await startTcpProxy(server.endpoint);
    const env = { ...process.env, AWS_ENDPOINT_URL: proxy.endpoint, AWS_MAX_ATTEMPTS: '2', MIXUP_S3_OUTAGE_SECONDS: '1' };
    const uri = `s3://${BUCKET}/cut/run-1`;
    const viaProxy = openStorage(uri, '--out', { env });
    await viaProxy.write('metrics.json', '{"a":1}', 'application/json');
    await viaProxy.write('checkpoints/latest.json', '{"epoch":3}', 'application/json');

    const big = Buffer.alloc(16 * MiB, 7);
    // Cut once the first part is on its way: the multipart upload is genuinely half done.
    proxy.onBytesUp(proxy.bytesUp + 2 * MiB, () => void proxy.cut());
    const started = Date.now();
    await assert.rejects(
      (async () => {
        await viaProxy.write('model/weights.bin', big, 'application/octet-stream');
        await writeManifest(viaProxy, 'run-1', ['metrics.json', 'model/weights.bin']);
      })(),
      (error: unknown) => {
        assert.ok(error instanceof JobError, String(error));
        assert.match(error.message, new RegExp(`^cannot reach ${proxy.endpoint} for ${uri}/model/weights\\.bin`));
        assert.ok(!error.message.includes('\n'));
        return true;
      },
    );
    assert.ok(Date.now() - started < 20_000, `gave up after ${Date.now() - started} ms`);

    const direct = openStorage(uri);
    assert.equal(await direct.exists(MANIFEST_KEY), false);
    assert.equal(await direct.exists('model/weights.bin'), false, 'no half object');
    assert.equal((await direct.read('metrics.json')).toString(), '{"a":1}');
    assert.equal((await direct.read('checkpoints/latest.json')).toString(), '{"epoch":3}');
  });
});

describe('seed-data', () => {
  test('uploads the four files and a SHA256SUMS, then skips them on a second run', async () => {
    const from = path.join(work, 'seed-src');
    const files = await writeFakeFashionMnist(from, { train: 300, test: 100, seed: 5 });
    const to = `s3://${BUCKET}/data/fashion-mnist`;

    const first = await seedData({ from, to });
    assert.equal(first.to, to);
    assert.equal(first.standard, false);
    assert.deepEqual(first.files.map((f) => f.action), ['uploaded', 'uploaded', 'uploaded', 'uploaded']);
    const storage = openStorage(to);
    const sums = (await storage.read('SHA256SUMS')).toString();
    for (const file of Object.values(files)) {
      const bytes = await readFile(file);
      const hex = createHash('sha256').update(bytes).digest('hex');
      assert.ok(sums.includes(`${hex}  ${path.basename(file)}\n`), `${path.basename(file)} in SHA256SUMS`);
      assert.ok((await storage.read(path.basename(file))).equals(bytes));
    }

    const second = await seedData({ from, to });
    assert.deepEqual(second.files.map((f) => f.action), ['skipped', 'skipped', 'skipped', 'skipped']);
    assert.equal(second.uploadedBytes, 0);
  });

  test('re-uploads a file whose stored copy no longer matches, and only that one', async () => {
    const from = path.join(work, 'seed-changed');
    await writeFakeFashionMnist(from, { train: 200, test: 50, seed: 6 });
    const to = `s3://${BUCKET}/data/changed`;
    await seedData({ from, to });
    await openStorage(to).write(FASHION_MNIST_FILES.testLabels, Buffer.from('truncated'), 'application/octet-stream');
    const again = await seedData({ from, to });
    assert.deepEqual(
      again.files.filter((f) => f.action === 'uploaded').map((f) => f.name),
      [FASHION_MNIST_FILES.testLabels],
    );
  });

  test('refuses a source whose SHA256SUMS disagrees and uploads nothing', async () => {
    const from = path.join(work, 'seed-bad');
    await writeFakeFashionMnist(from, { train: 200, test: 50, seed: 7 });
    const lines = Object.values(FASHION_MNIST_FILES).map((name) => `${'0'.repeat(64)}  ${name}\n`);
    await writeFile(path.join(from, 'SHA256SUMS'), lines.join(''));
    const to = `s3://${BUCKET}/data/bad`;
    await assert.rejects(seedData({ from, to }), /wrong checksum: .*train-images-idx3-ubyte\.gz has SHA-256 [0-9a-f]{64}, SHA256SUMS says 0{64}/);
    assert.deepEqual(await openStorage(to).list(), []);
  });

  test('names the missing source file', async () => {
    const from = path.join(work, 'seed-missing');
    await writeFakeFashionMnist(from, { train: 200, test: 50, seed: 8 });
    await rm(path.join(from, FASHION_MNIST_FILES.trainLabels));
    await assert.rejects(seedData({ from, to: `s3://${BUCKET}/data/missing` }), /not found: .*train-labels-idx1-ubyte\.gz/);
  });
});

describe('an independent client (Debian awscli)', async () => {
  // Debian's awscli (v2) when installed; otherwise whatever `aws` is on PATH.
  const awsBin = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
  const aws = await run(awsBin, ['--version']).then(() => true, () => false);

  test('lists and reads what S3Storage wrote', { skip: aws ? false : 'aws CLI not installed' }, async () => {
    const storage = openStorage(`s3://${BUCKET}/cli/run-1`);
    await storage.write('metrics.json', '{"accuracy":0.87}', 'application/json');
    await storage.write('mixup/curves.png', Buffer.from([0x89, 0x50]), 'image/png');
    await writeManifest(storage, 'run-1', ['metrics.json', 'mixup/curves.png']);
    const env = { ...process.env, AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const base = ['--endpoint-url', server.endpoint, 's3'];
    const listed = await run(awsBin, [...base, 'ls', '--recursive', `s3://${BUCKET}/cli/run-1/`], { env });
    for (const key of ['cli/run-1/metrics.json', 'cli/run-1/mixup/curves.png', 'cli/run-1/manifest.json']) {
      assert.match(listed.stdout, new RegExp(key.replace(/[.]/g, '\\.')));
    }
    const copied = await run(awsBin, [...base, 'cp', `s3://${BUCKET}/cli/run-1/metrics.json`, '-'], { env });
    assert.equal(copied.stdout, '{"accuracy":0.87}');
  });
});
