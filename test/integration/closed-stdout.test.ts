/**
 * A closed stdout must not kill a run: `mixup run | head -c 10`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { writeFakeFashionMnist } from '../support/fake-dataset.js';

describe('a closed stdout', () => {
  let dir: string;
  let data: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-epipe-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('`mixup run | head -c 10`: the run completes with exit 0 and writes its manifest', async () => {
    const out = path.join(dir, 'runs');
    const child = spawn(
      'bash',
      ['-c', `"${process.execPath}" --import tsx job/cli.ts run --epochs 1 --val-samples 64 --backend wasm --data "${data}" --out "${out}" --run-id p | head -c 10 >/dev/null; echo "run exit \${PIPESTATUS[0]}" >&2`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    assert.doesNotMatch(stderr, /EPIPE|this is a bug/, stderr);
    assert.match(stderr, /run exit 0\n$/, stderr);
    assert.ok((await stat(path.join(out, 'p', 'manifest.json'))).isFile(), stderr);
  });

  for (const [what, args] of [
    ['mixup run --help', ['job/cli.ts', 'run', '--help']],
    ['mixup sweep --dry-run (a long plan)', ['scripts/cli.ts', 'sweep', '--executor', 'local', '--alphas', '0,0.1,0.2,0.3,0.4,0.5,0.6,0.7', '--seeds', '400', '--dry-run', '--results', 'PLAN']],
  ] as const) {
    test(`\`${what}\` into a pipe its reader has closed: ends quietly, exit 0, no stack`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', ...args.map((arg) => (arg === 'PLAN' ? path.join(dir, 'plan') : arg))], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Closed before the program has started (hundreds of ms): its first write meets EPIPE, like `| head -0`.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(stderr, '');
      assert.equal(code, 0);
    });
  }
});
