import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { NotFoundError } from '../../job/errors.js';
import { LocalStorage } from '../../job/storage/local.js';
import { openStorage } from '../../job/storage/open.js';
import { S3Storage } from '../../job/storage/s3.js';

describe('LocalStorage', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'storage-local-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a written object reads back byte for byte, in nested folders created on demand', async () => {
    const storage = new LocalStorage(path.join(dir, 'rt'));
    const body = Buffer.from([0, 1, 2, 255]);
    await storage.write('a/b/c.bin', body, 'application/octet-stream');
    assert.deepEqual(await storage.read('a/b/c.bin'), body);
    assert.equal(await storage.exists('a/b/c.bin'), true);
  });

  test('a write replaces the whole object and leaves no temporary file behind', async () => {
    const storage = new LocalStorage(path.join(dir, 'atomic'));
    await storage.write('m.json', '{"long": "first version, longer than the second"}', 'application/json');
    await storage.write('m.json', '{}', 'application/json');
    assert.equal((await storage.read('m.json')).toString(), '{}');
    assert.deepEqual(await readdir(path.join(dir, 'atomic')), ['m.json']);
  });

  test('a half-written .partial file is never listed', async () => {
    const storage = new LocalStorage(path.join(dir, 'partial'));
    await storage.write('done.json', '{}', 'application/json');
    await writeFile(path.join(dir, 'partial', 'next.json.abc123.partial'), '{"trunc');
    assert.deepEqual((await storage.list()).map((o) => o.key), ['done.json']);
  });

  test('list is recursive, sorted, with sizes, and a prefix is a folder, not a string prefix', async () => {
    const storage = new LocalStorage(path.join(dir, 'list'));
    await storage.write('checkpoints/mixup/epoch-2.json', 'xx', 'application/json');
    await storage.write('checkpoints-old/x.json', 'x', 'application/json');
    await storage.write('metrics.json', 'xyz', 'application/json');
    assert.deepEqual(await storage.list(), [
      { key: 'checkpoints-old/x.json', size: 1 },
      { key: 'checkpoints/mixup/epoch-2.json', size: 2 },
      { key: 'metrics.json', size: 3 },
    ]);
    assert.deepEqual(await storage.list('checkpoints'), [{ key: 'checkpoints/mixup/epoch-2.json', size: 2 }]);
    assert.deepEqual(await storage.list('nothing-here/'), []);
  });

  test('reading a missing object throws NotFoundError naming the full path', async () => {
    const storage = new LocalStorage(path.join(dir, 'missing'));
    await assert.rejects(storage.read('nope.json'), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.uri, path.join(dir, 'missing', 'nope.json'));
      assert.match(error.message, /not found: .*missing\/nope\.json/);
      return true;
    });
    assert.equal(await storage.exists('nope.json'), false);
  });

  test('delete removes the object and does not mind when it is already gone', async () => {
    const storage = new LocalStorage(path.join(dir, 'delete'));
    await storage.write('x.csv', 'a,b\n', 'text/csv');
    await storage.delete('x.csv');
    await storage.delete('x.csv');
    assert.equal(await storage.exists('x.csv'), false);
  });

  test('a folder emptied by a delete goes too, as on S3; its base and non-empty folders stay', async () => {
    const storage = new LocalStorage(path.join(dir, 'prune'));
    await storage.write('checkpoints/a/x.f32', 'x', 'application/octet-stream');
    await storage.write('checkpoints/state.json', '{}', 'application/json');
    await storage.delete('checkpoints/a/x.f32');
    assert.deepEqual((await readdir(path.join(dir, 'prune', 'checkpoints'))).sort(), ['state.json']);
    await storage.delete('checkpoints/state.json');
    assert.deepEqual(await readdir(path.join(dir, 'prune')), []);
  });

  test('child storage is rooted below its parent', async () => {
    const parent = new LocalStorage(path.join(dir, 'parent'));
    await parent.child('runs/r1').write('metrics.json', '{}', 'application/json');
    assert.deepEqual((await parent.list()).map((o) => o.key), ['runs/r1/metrics.json']);
  });
});

describe('openStorage', () => {
  test('an s3:// URI opens S3 storage and anything else a local directory', () => {
    const s3 = openStorage('s3://my-bucket/runs/r1/');
    assert.ok(s3 instanceof S3Storage);
    assert.equal(s3.uri, 's3://my-bucket/runs/r1');
    assert.equal(s3.uriOf('metrics.json'), 's3://my-bucket/runs/r1/metrics.json');
    assert.ok(openStorage('runs/r1') instanceof LocalStorage);
  });

  test('an invalid bucket name is a usage error naming the option and the rule', () => {
    assert.throws(() => openStorage('s3://My_Bucket/x', '--out'), /--out 's3:\/\/My_Bucket\/x': bucket name 'My_Bucket' may only contain lower-case/);
  });
});
