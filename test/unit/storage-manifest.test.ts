import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { JobError } from '../../job/errors.js';
import { LocalStorage } from '../../job/storage/local.js';
import { MANIFEST_KEY } from '../../job/shared/layout.js';
import { readManifest, sha256, verifyManifest, writeManifest } from '../../job/storage/manifest.js';

describe('manifest', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runWithArtifacts(name: string): Promise<LocalStorage> {
    const storage = new LocalStorage(path.join(dir, name));
    await storage.write('metrics.json', '{"a":1}', 'application/json');
    await storage.write('mixup/history.csv', 'epoch,loss\n1,0.5\n', 'text/csv');
    await storage.write('checkpoints/mixup/latest.json', '{}', 'application/json');
    return storage;
  }

  test('a run without manifest.json reads as null: incomplete', async () => {
    assert.equal(await readManifest(await runWithArtifacts('none')), null);
  });

  test('lists each artifact with its stored size, SHA-256 and content type, and leaves out checkpoints', async () => {
    const storage = await runWithArtifacts('write');
    const written = await writeManifest(storage, 'r1', ['mixup/history.csv', 'metrics.json', 'checkpoints/mixup/latest.json']);
    const manifest = await readManifest(storage);
    assert.deepEqual(manifest, written);
    assert.equal(manifest!.version, 1);
    assert.equal(manifest!.runId, 'r1');
    assert.ok(!Number.isNaN(Date.parse(manifest!.createdAt)));
    assert.deepEqual(manifest!.objects, [
      { key: 'metrics.json', size: 7, sha256: sha256('{"a":1}'), contentType: 'application/json' },
      { key: 'mixup/history.csv', size: 17, sha256: sha256('epoch,loss\n1,0.5\n'), contentType: 'text/csv' },
    ]);
    assert.deepEqual(await verifyManifest(storage, manifest!), []);
  });

  test('a listed key that was never written fails the write and leaves no manifest', async () => {
    const storage = await runWithArtifacts('missing');
    await assert.rejects(writeManifest(storage, 'r1', ['metrics.json', 'never-written.png']), /not found: .*never-written\.png/);
    assert.equal(await storage.exists(MANIFEST_KEY), false);
  });

  test('verify reports a changed, a truncated and a missing object, one sentence each', async () => {
    const storage = await runWithArtifacts('verify');
    await storage.write('a.png', Buffer.from([1, 2, 3]), 'image/png');
    const manifest = await writeManifest(storage, 'r1', ['metrics.json', 'mixup/history.csv', 'a.png']);
    await storage.write('metrics.json', '{"a":2}', 'application/json');
    await storage.write('mixup/history.csv', 'epoch', 'text/csv');
    await storage.delete('a.png');
    const problems = await verifyManifest(storage, manifest);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /a\.png is listed in the manifest but missing$/);
    assert.match(problems[1]!, /metrics\.json has SHA-256 [0-9a-f]{64}; the manifest says [0-9a-f]{64}$/);
    assert.match(problems[2]!, /history\.csv has 5 bytes; the manifest says 17$/);
  });

  test('a damaged manifest is a JobError naming its URI', async () => {
    const storage = new LocalStorage(path.join(dir, 'damaged'));
    await storage.write(MANIFEST_KEY, '{"version":1,"runId":"r1"', 'application/json');
    await assert.rejects(readManifest(storage), (error: unknown) => error instanceof JobError && /manifest\.json is not valid JSON/.test(error.message));
    await writeFile(path.join(dir, 'damaged', MANIFEST_KEY), JSON.stringify({ version: 2, runId: 'r1', createdAt: '', objects: [] }));
    await assert.rejects(readManifest(storage), /is not a version 1 manifest: version:/);
  });
});
