/**
 * native/build.sh's decisions, with stand-in compilers in a copy of native/ (no real compile: the real
 * builds, native, cross and macOS, are test/e2e/native-platforms.test.ts). `npm ci` runs it through
 * `prepare`, so whatever the compiler does, it exits 0 with one line unless asked to be strict.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NOT_BUILT = /^native convolution not built: .+; training uses the wasm kernels \(same results, slower\)$/;
const ADDON = 'dist/native/mixup-kernels.node';

describe('native/build.sh', () => {
  let repo: string;
  before(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'mixup-native-build-'));
    await mkdir(path.join(repo, 'native'));
    await copyFile(path.join(ROOT, 'native/build.sh'), path.join(repo, 'native/build.sh'));
    await mkdir(path.join(repo, 'node_modules/node-api-headers/include'), { recursive: true });
    await writeFile(path.join(repo, 'node_modules/node-api-headers/include/node_api.h'), '');
  });
  after(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  /**
   * A stand-in compiler for `target`: it records its arguments, and either fails with `error`
   * or writes its -o file.
   */
  async function compiler(name: string, target: string, error?: string): Promise<string> {
    const file = path.join(repo, name);
    const compile = error === undefined
      ? 'while [ $# -gt 0 ]; do [ "$1" = -o ] && echo addon > "$2"; shift; done'
      : `echo "${error}" >&2; echo "1 error generated." >&2; exit 1`;
    await writeFile(file, `#!/bin/sh\n[ "$1" = -dumpmachine ] && { echo ${target}; exit 0; }\necho "$@" > "$0.args"\n${compile}\n`);
    await chmod(file, 0o755);
    return file;
  }

  function build(cc: string, ...args: string[]) {
    const run = spawnSync('bash', [path.join(repo, 'native/build.sh'), ...args], { env: { ...process.env, CC: cc }, encoding: 'utf8' });
    return { code: run.status, lines: run.stderr.split('\n').filter(Boolean), stdout: run.stdout };
  }

  test('no compiler: one line, exit 0', () => {
    const run = build(path.join(repo, 'no-such-cc'));
    assert.equal(run.code, 0);
    assert.equal(run.lines.length, 1);
    assert.match(run.lines[0]!, NOT_BUILT);
    assert.match(run.lines[0]!, /no C compiler/);
  });

  test('a compiler that fails: one line naming its first error, exit 0, and no addon from older sources left behind; --strict fails with all of it', async () => {
    await mkdir(path.join(repo, 'dist/native'), { recursive: true });
    await writeFile(path.join(repo, ADDON), 'an addon from an earlier build');
    const cc = await compiler('failing-cc', 'x86_64-linux-gnu', "native/conv-tile.h:20:1: error: attribute 'target(\"avx512f\")' is not valid");
    const run = build(cc);
    assert.equal(run.code, 0);
    assert.equal(run.lines.length, 1, run.lines.join('\n'));
    assert.match(run.lines[0]!, NOT_BUILT);
    assert.match(run.lines[0]!, /failing-cc \(x86_64-linux-gnu\) failed \(native\/conv-tile\.h:20:1: error: .*; all of it in dist\/native\/mixup-kernels\.node\.log\)/);
    assert.equal(existsSync(path.join(repo, ADDON)), false);
    assert.match(await readFile(path.join(repo, `${ADDON}.log`), 'utf8'), /1 error generated/);

    const strict = build(cc, '--strict');
    assert.equal(strict.code, 1);
    assert.ok(strict.lines.includes('1 error generated.'), strict.lines.join('\n'));
    assert.match(strict.lines.at(-1)!, NOT_BUILT);
  });

  test('Linux: a shared object where the loader looks; macOS: a bundle that leaves N-API to node', async () => {
    const linux = await compiler('linux-cc', `${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`);
    assert.equal(build(linux).code, 0);
    assert.equal(await readFile(path.join(repo, ADDON), 'utf8'), 'addon\n');
    const linuxArgs = (await readFile(`${linux}.args`, 'utf8')).trim().split(' ');
    assert.ok(linuxArgs.includes('-shared') && linuxArgs.includes('-Werror') && linuxArgs.includes('-ffp-contract=off'), linuxArgs.join(' '));

    const mac = await compiler('mac-cc', 'arm64-apple-darwin23.4.0');
    const out = path.join(repo, 'mac.node');
    assert.equal(build(mac, '--out', out).code, 0);
    assert.ok(existsSync(out));
    const macArgs = (await readFile(`${mac}.args`, 'utf8')).trim();
    assert.match(macArgs, / -bundle -undefined dynamic_lookup -o /);
    assert.doesNotMatch(macArgs, /-shared/);
  });

  test('a cross compiler writes under dist/native/<its target>/, never over the addon this node loads', async () => {
    const foreign = os.arch() === 'arm64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
    await writeFile(path.join(repo, ADDON), 'this node’s addon');
    const run = build(await compiler('cross-cc', foreign));
    assert.equal(run.code, 0);
    assert.match(run.lines.join('\n'), new RegExp(`cross-built for ${foreign}: dist/native/${foreign}/mixup-kernels\\.node`));
    assert.equal(await readFile(path.join(repo, `dist/native/${foreign}/mixup-kernels.node`), 'utf8'), 'addon\n');
    assert.equal(await readFile(path.join(repo, ADDON), 'utf8'), 'this node’s addon');
  });

  test('Windows compilers are declined in one line; an unknown argument is a usage error', async () => {
    const run = build(await compiler('mingw-cc', 'x86_64-w64-mingw32'));
    assert.equal(run.code, 0);
    assert.deepEqual(run.lines.length, 1);
    assert.match(run.lines[0]!, /x86_64-w64-mingw32 is not supported \(on Windows, use WSL\)/);
    const bad = build('cc', '--fast');
    assert.equal(bad.code, 2);
    assert.match(bad.lines[0]!, /unknown argument '--fast'/);
  });
});
