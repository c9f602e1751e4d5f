/**
 * What the two S3 emulators do with the S3 calls the project makes, side by side: LocalStack (the S3 of
 * the integration, Docker and stack tests) and moto (the S3 of the Batch loop, test/cloud). Each probe
 * is one behaviour the job relies on or could trip over: conditional PUTs (the run lease), multipart
 * uploads (weights and data), checksums (the SDK sends CRC32 by default), tagging (checkpoint objects)
 * and ListObjectsV2 pagination (listings of runs). The expected answers are what each emulator does
 * today; docs/localstack.md has them in a table beside what AWS documents. A release that changes one
 * fails here, naming the probe, and the table is updated with it.
 *
 * Also the fixture for "a store that ignores conditional writes" (test/support/s3-ignoring-conditions.ts)
 * is shown to do just that.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { S3Storage } from '../../job/storage/s3.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { startS3IgnoringConditionalWrites } from '../support/s3-ignoring-conditions.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const BUCKET = 'mixup-emulators';
const MiB = 1024 * 1024;
type Emulator = 'localstack' | 'moto';

/** An error as `<name> <HTTP status>`, a success as 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    return `${e.name} ${e.$metadata?.httpStatusCode}`;
  }
}

function clientFor(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

/** The observed behaviour per probe, today. Keep docs/localstack.md's table in step. */
const EXPECTED: Record<Emulator, Record<string, unknown>> = {
  localstack: {
    'If-None-Match: * on an existing key': 'PreconditionFailed 412',
    'If-None-Match: * on an absent key': 'ok',
    'If-Match: stale ETag': 'PreconditionFailed 412',
    'If-Match: current ETag': 'ok',
    'If-Match on an absent key': 'NoSuchKey 404',
    'winners of 6 racing If-None-Match creates': 1,
    'multipart with a 1 MiB part before the last': 'EntityTooSmall 400',
    'multipart ETag': 'md5-of-parts-N',
    'PutObject default checksum stored (CRC32)': true,
    'PutObject with a wrong x-amz-checksum-sha256': 'BadDigest 400',
    'multipart (lib-storage) checksum': 'CRC32 composite -N',
    'PutObject x-amz-tagging read back': 'a=1&b=two',
    'multipart (lib-storage) tags read back': 'a=1&b=two',
    'ListObjectsV2 MaxKeys=3 over 7 keys: page sizes': [3, 3, 1],
    'ListObjectsV2 StartAfter': ['k5', 'k6'],
  },
  moto: {
    'If-None-Match: * on an existing key': 'PreconditionFailed 412',
    'If-None-Match: * on an absent key': 'ok',
    'If-Match: stale ETag': 'PreconditionFailed 412',
    'If-Match: current ETag': 'ok',
    'If-Match on an absent key': 'NoSuchKey 404',
    'winners of 6 racing If-None-Match creates': 1,
    'multipart with a 1 MiB part before the last': 'EntityTooSmall 400',
    'multipart ETag': 'md5-of-parts-N',
    'PutObject default checksum stored (CRC32)': true,
    // moto stores the object and the wrong checksum with it.
    'PutObject with a wrong x-amz-checksum-sha256': 'ok',
    // A checksum of the whole object, not S3's checksum of the parts' checksums with its -N suffix.
    'multipart (lib-storage) checksum': 'CRC32 without -N',
    'PutObject x-amz-tagging read back': 'a=1&b=two',
    'multipart (lib-storage) tags read back': 'a=1&b=two',
    'ListObjectsV2 MaxKeys=3 over 7 keys: page sizes': [3, 3, 1],
    'ListObjectsV2 StartAfter': ['k5', 'k6'],
  },
};

/** Runs every probe against one emulator's S3 and returns what it did. */
async function probe(client: S3Client, prefix: string): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const key = (name: string) => `${prefix}/${name}`;
  const put = (name: string, body: string | Buffer, extra: Record<string, unknown> = {}) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(name), Body: body, ...extra }));

  // Conditional PUTs: the lease's create (If-None-Match: *) and replace (If-Match: <ETag>).
  const first = await put('cond', 'v1');
  seen['If-None-Match: * on an existing key'] = await outcome(() => put('cond', 'v2', { IfNoneMatch: '*' }));
  seen['If-None-Match: * on an absent key'] = await outcome(() => put('cond-new', 'v1', { IfNoneMatch: '*' }));
  seen['If-Match: stale ETag'] = await outcome(() => put('cond', 'v2', { IfMatch: '"00000000000000000000000000000000"' }));
  seen['If-Match: current ETag'] = await outcome(() => put('cond', 'v2', { IfMatch: first.ETag }));
  seen['If-Match on an absent key'] = await outcome(() => put('cond-absent', 'v1', { IfMatch: first.ETag }));
  const race = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome(() => put('race', `writer ${i}`, { IfNoneMatch: '*' }))));
  seen['winners of 6 racing If-None-Match creates'] = race.filter((o) => o === 'ok').length;

  // Multipart: S3 refuses a part under 5 MiB unless it is the last; the ETag is the MD5 of the parts' MD5s, "-N".
  const small = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key('mp-small') }));
  const parts: { PartNumber: number; ETag?: string }[] = [];
  for (const [n, body] of [[1, Buffer.alloc(MiB, 1)], [2, Buffer.from('tail')]] as const) {
    const part = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key('mp-small'), UploadId: small.UploadId, PartNumber: n, Body: body }));
    parts.push({ PartNumber: n, ETag: part.ETag });
  }
  seen['multipart with a 1 MiB part before the last'] = await outcome(() =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key('mp-small'), UploadId: small.UploadId, MultipartUpload: { Parts: parts } })));
  const big = Buffer.alloc(12 * MiB);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  await new Upload({ client, params: { Bucket: BUCKET, Key: key('mp'), Body: big }, partSize: 5 * MiB, tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two' }] }).done();
  const partMd5s = [0, 5 * MiB, 10 * MiB].map((start) => createHash('md5').update(big.subarray(start, start + 5 * MiB)).digest());
  const multipartEtag = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
  const mpHead = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key('mp'), ChecksumMode: 'ENABLED' }));
  seen['multipart ETag'] = mpHead.ETag === multipartEtag ? 'md5-of-parts-N' : mpHead.ETag;
  seen['multipart (lib-storage) checksum'] = mpHead.ChecksumCRC32
    ? /-3$/.test(mpHead.ChecksumCRC32) ? 'CRC32 composite -N' : 'CRC32 without -N'
    : 'none';
  const mpGot = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key('mp') }));
  assert.ok(Buffer.from(await mpGot.Body!.transformToByteArray()).equals(big), 'the multipart object reads back intact');

  // Checksums: the SDK adds x-amz-checksum-crc32 to every PutObject; a wrong explicit one must be refused.
  await put('sum', 'checksummed');
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key('sum'), ChecksumMode: 'ENABLED' }));
  seen['PutObject default checksum stored (CRC32)'] = head.ChecksumCRC32 !== undefined;
  seen['PutObject with a wrong x-amz-checksum-sha256'] = await outcome(() =>
    put('sum-bad', 'checksummed', { ChecksumSHA256: createHash('sha256').update('something else').digest('base64') }));

  // Tagging: a small write tags in the PUT; lib-storage tags a multipart object after completing it.
  await put('tagged', 'x', { Tagging: 'a=1&b=two' });
  const tagString = async (name: string) =>
    ((await client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key(name) }))).TagSet ?? [])
      .map((t) => `${t.Key}=${t.Value}`).sort().join('&');
  seen['PutObject x-amz-tagging read back'] = await tagString('tagged');
  seen['multipart (lib-storage) tags read back'] = await tagString('mp');

  // ListObjectsV2 pagination.
  await Promise.all(Array.from({ length: 7 }, (_, i) => put(`list/k${i}`, String(i))));
  const sizes: number[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key('list/'), MaxKeys: 3, ContinuationToken: token }));
    sizes.push(page.KeyCount ?? 0);
    assert.equal(page.KeyCount, page.Contents?.length ?? 0, 'KeyCount counts the page');
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  seen['ListObjectsV2 MaxKeys=3 over 7 keys: page sizes'] = sizes;
  const after = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key('list/'), StartAfter: key('list/k4') }));
  seen['ListObjectsV2 StartAfter'] = (after.Contents ?? []).map((o) => o.Key!.slice(key('list/').length));
  return seen;
}

describe('S3 emulators: LocalStack and moto on the calls the project makes', () => {
  let localstack: S3Server;
  let moto: MotoServer;
  let work: string;
  const clients: S3Client[] = [];

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 's3-emulators-'));
    // One after the other: making a virtualenv (the first time) blocks this process's event loop.
    localstack = await startS3Server();
    moto = await startMotoServer(path.join(work, 'moto.log'));
    await localstack.createBucket(BUCKET);
    const motoClient = clientFor(moto.endpoint);
    clients.push(motoClient);
    await motoClient.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    for (const client of clients) client.destroy();
    await Promise.all([localstack?.stop(), moto?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  for (const emulator of ['localstack', 'moto'] as const) {
    test(`${emulator}: conditional PUT, multipart, checksums, tagging and ListObjectsV2 as recorded`, async () => {
      const client = clientFor(emulator === 'localstack' ? localstack.endpoint : moto.endpoint);
      clients.push(client);
      const seen = await probe(client, `probe-${process.pid}`);
      assert.deepEqual(seen, EXPECTED[emulator], JSON.stringify(seen, null, 1));
    });
  }

  test("LocalStack: the job's listing follows ListObjectsV2's continuation past 1000 keys", async () => {
    const storage = new S3Storage({ bucket: BUCKET, prefix: `many-${process.pid}` }, { client: clientFor(localstack.endpoint) });
    const keys = Array.from({ length: 1005 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => storage.write(k, 'x', 'text/plain')));
    assert.deepEqual((await storage.list()).map((o) => o.key), keys);
  });

  test('the store that ignores conditional writes overwrites where LocalStack refuses, and says so', async () => {
    const ignoring = await startS3IgnoringConditionalWrites(localstack.endpoint);
    const direct = clientFor(localstack.endpoint);
    const through = clientFor(ignoring.endpoint);
    clients.push(direct, through);
    try {
      const Key = `ignoring-${process.pid}`;
      await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'first' }));
      assert.equal(await outcome(() => direct.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'second', IfNoneMatch: '*' }))), 'PreconditionFailed 412');
      assert.equal(await outcome(() => through.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'second', IfNoneMatch: '*' }))), 'ok');
      const read = await through.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      assert.equal(await read.Body!.transformToString(), 'second');
      assert.equal(ignoring.dropped, 1);
    } finally {
      await ignoring.stop();
    }
  });
});
