/**
 * A read-only `--out` and a full disk, on real filesystems: small tmpfs mounts, one remounted read-only.
 * The message names the cause (EROFS, ENOSPC) and the path, never "no such file or directory".
 * Mounting needs root (CAP_SYS_ADMIN), which CI's container has; elsewhere the tests skip with the reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { describeFsError } from '../../job/fs-errors.js';
import { LocalStorage } from '../../job/storage/local.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';

const CLI = path.resolve('job/cli.ts');

function mount(args: string[]): boolean {
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}

describe('a read-only --out and a full disk name the cause and the path', () => {
  let dir: string;
  let readOnly: string;
  let full: string;
  let mounted: string | false = false;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-ro-'));
    readOnly = path.join(dir, 'ro');
    full = path.join(dir, 'full');
    await mkdir(readOnly);
    await mkdir(full);
    const ok = mount(['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', readOnly]) && mount(['-o', 'remount,ro', readOnly]) &&
      mount(['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', full]);
    mounted = ok ? '' : 'mounting a tmpfs needs root (CAP_SYS_ADMIN)';
  });

  after(async () => {
    for (const point of [readOnly, full]) spawnSync('umount', [point], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  });

  test('mixup run with a read-only --out: one line, EROFS and the directory it could not create', async (t) => {
    if (mounted) return t.skip(mounted);
    const data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
    const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'run', '--data', data, '--out', path.join(readOnly, 'runs'),
      '--run-id', 'r', '--epochs', '1', '--val-samples', '64', '--backend', 'wasm'], { encoding: 'utf8' });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, `mixup: cannot create directory ${path.join(readOnly, 'runs')}: the filesystem is read-only (EROFS)\n`);
  });

  test('a write into a new folder on a read-only filesystem (results --plot) names EROFS, not ENOENT', async (t) => {
    if (mounted) return t.skip(mounted);
    const error = await new LocalStorage(readOnly).write('plots/accuracy.png', 'x', 'image/png').then(() => null, (e: unknown) => e);
    assert.equal(describeFsError(error), `cannot create directory ${path.join(readOnly, 'plots')}: the filesystem is read-only (EROFS)`);
  });

  test('a full disk names the file that did not fit', async (t) => {
    if (mounted) return t.skip(mounted);
    const error = await new LocalStorage(full).write('runs/r/models/initial/weights.bin', Buffer.alloc(400_000, 1), 'application/octet-stream').then(() => null, (e: unknown) => e);
    assert.equal(describeFsError(error), `cannot write ${path.join(full, 'runs/r/models/initial/weights.bin')}: no space left on the device (ENOSPC)`);
  });
});
