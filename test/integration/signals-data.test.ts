/**
 * A stop signal while the data is still downloading: `mixup run` (and a local sweep's children) must
 * stop within seconds with one line, release the run's lease and exit 143 (SIGTERM) or 130 (SIGINT),
 * not wait for a stalled server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('signals during the data download', () => {
  let server: http.Server;
  let base: string;
  let work: string;
  let onRequest: () => void = () => {};

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'signals-data-'));
    // Every file: 1000 bytes of a 5000-byte body, then nothing.
    server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': '5000' });
      response.write(Buffer.alloc(1000, 0x1f));
      onRequest();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fashion/`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  /** Starts the CLI, sends `signal` once the server has a download in flight, and collects the end. */
  async function stopWhileDownloading(cli: string, args: string[], signal: NodeJS.Signals) {
    const requested = new Promise<void>((resolve) => (onRequest = resolve));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, cli), ...args], {
      cwd: work,
      env: { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await requested;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = Date.now();
    child.kill(signal);
    const code = await exited;
    return { code, stdout, stderr, seconds: (Date.now() - sent) / 1000 };
  }

  for (const [signal, exitCode] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    test(`mixup run: ${signal} stops a stalled download at once, with one line, the lease released, exit ${exitCode}`, { timeout: 60_000 }, async () => {
      const out = path.join(work, `runs-${signal}`);
      const { code, stdout, stderr, seconds } = await stopWhileDownloading(
        'job/cli.ts',
        ['run', '--data', base, '--out', out, '--run-id', 'r', '--backend', 'wasm', '--parallel-arms', 'off'],
        signal,
      );
      assert.equal(code, exitCode, stderr);
      assert.ok(seconds < 10, `stopped ${seconds} s after the signal`);
      const interrupted = stdout.split('\n').filter((line) => line.includes('"event":"interrupted"'));
      assert.equal(interrupted.length, 1, stdout);
      assert.match(interrupted[0]!, /"phase":"data"/);
      assert.equal(stderr.trim(), '', 'no stack, no second message');
      assert.equal(existsSync(path.join(out, 'r', 'lease.json')), false, 'the lease is released');
    });
  }

  test('mixup sweep (local): SIGINT stops its run in the download; the sweep exits 130', { timeout: 60_000 }, async () => {
    const { code, stderr, seconds } = await stopWhileDownloading(
      'scripts/cli.ts',
      ['sweep', '--executor', 'local', '--alphas', '0.2', '--seeds', '1', '--epochs', '1', '--backend', 'wasm',
        '--data', base, '--results', path.join(work, 'results'), '--sweep-id', 's1'],
      'SIGINT',
    );
    assert.equal(code, 130, stderr);
    assert.ok(seconds < 15, `stopped ${seconds} s after the signal`);
    assert.match(stderr, /stopped by SIGINT/);
    assert.doesNotMatch(stderr, /FAILED/);
    const runs = path.join(work, 'results', 'sweeps', 's1', 'runs');
    for (const id of ['baseline_seed-1', 'alpha-0.2_seed-1']) assert.equal(existsSync(path.join(runs, id, 'lease.json')), false);
  });
});
