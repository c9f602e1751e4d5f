/**
 * [slow] The optional native convolution (native/build.sh) beyond this machine's own build:
 * - aarch64: cross-built with Debian's gcc and with clang (-Werror), then run under qemu-user by
 *   Debian's arm64 node (test/support/arm64-node.sh), where the bit-for-bit checks of
 *   test/unit/native-conv.test.ts, native-conv-grads.test.ts and native-elementwise.test.ts against
 *   the stock and wasm kernels must pass (the NEON forms' inline assembly included), and `auto` must
 *   leave them to wasm;
 * - clang: the x86-64 forms built by clang pass the same checks here; macOS arm64 and x86-64 addons
 *   compile and link as bundles whose N-API symbols node provides (lld's ld64, no Apple SDK here);
 * - a compiler that fails: `npm ci` in a copy of the repository still succeeds, and says so in one
 *   line; the first `npx mixup` after it does not run the build again.
 * A few minutes (qemu, a real `npm ci`). The tools come from apt (.ci/run installs them).
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADDON = 'mixup-kernels.node';
const QEMU = 'qemu-aarch64-static';
/** The bit-for-bit checks of the native kernels, each file's in-process suite (the rest spawns `node --import tsx`, which needs esbuild's x64 binary). */
const BIT_TESTS: Record<string, string> = {
  'test/unit/native-conv.test.ts': 'native forward convolution on wasm',
  'test/unit/native-conv-grads.test.ts': 'native conv gradients on wasm',
  'test/unit/native-elementwise.test.ts': 'native element-wise kernels on wasm',
};
/** Cases per form in each suite, by the start of their names after the form (`baseline: …`). */
const CASES_PER_FORM: Record<string, number> = {
  'Conv2D and FusedConv2D': 12,
  'the one-channel filter gradient': 10,
  'the sparse filter and input gradients': 14,
  'ReLU, MaxPool, their gradients': 12,
  'MaxPool and MaxPoolGrad on every arrangement': 1,
  "the dense layer's activations": 1,
};
const NOT_BUILT = /^native convolution not built: .+; training uses the wasm kernels \(same results, slower\)$/;

function sh(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  // Without NODE_TEST_CONTEXT, a node run here reports in TAP rather than to this test runner.
  const { NODE_TEST_CONTEXT: _, ...env } = { ...process.env, ...options.env };
  return spawnSync(command, args, { cwd: options.cwd ?? ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what} exited ${result.status}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

/** Why a test cannot run here (the apt packages that give the missing commands), or false. */
function missing(commands: Record<string, string>): string | false {
  const absent = Object.entries(commands).filter(([cmd]) => sh('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  return absent.length === 0 ? false : `needs ${absent.map(([cmd, pkg]) => `${cmd} (apt-get install ${pkg})`).join(', ')}`;
}

/** `bash native/build.sh --strict --out FILE` with CC. */
function build(cc: string, out: string): void {
  ok(sh('bash', ['native/build.sh', '--strict', '--out', out], { env: { CC: cc } }), `CC='${cc}' native/build.sh`);
}

const ELF_MACHINE = { x64: 62, arm64: 183 } as const;
async function elfMachine(file: string): Promise<number> {
  const head = await readFile(file);
  assert.equal(head.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is an ELF file`);
  return head.readUInt16LE(18);
}

describe('[slow] the native convolution on other platforms', { timeout: 20 * 60_000 }, () => {
  let work: string;
  /** The bit-for-bit test files and what they import, compiled to JavaScript (an arm64 node cannot run tsx's esbuild). */
  let tree: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'mixup-native-platforms-'));
    tree = path.join(work, 'tree');
    ok(
      sh(process.execPath, [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--outDir', tree, '--rootDir', ROOT,
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2023,dom',
        '--strict', '--skipLibCheck', '--esModuleInterop', '--types', 'node', ...Object.keys(BIT_TESTS),
      ]),
      'tsc',
    );
    await writeFile(path.join(tree, 'package.json'), '{ "type": "module" }\n');
    await symlink(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    await mkdir(path.join(tree, 'dist/native'), { recursive: true });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** Puts `addon` where the compiled tree loads it, and runs every bit-for-bit suite with `node` (a command line); their TAP. */
  async function bitTests(node: readonly string[], addon: string): Promise<string> {
    await copyFile(addon, path.join(tree, 'dist/native', ADDON));
    let tap = '';
    for (const [source, suite] of Object.entries(BIT_TESTS)) {
      const file = path.join(tree, source.replace(/\.ts$/, '.js'));
      // on: the form this CPU has must load and be the one in use; CI=true: not loading fails the first check.
      const env = { MIXUP_NATIVE_CONV: 'on', CI: 'true' };
      const out = ok(sh(node[0]!, [...node.slice(1), '--test-reporter=tap', `--test-name-pattern=${suite}`, file], { env, cwd: tree }), `${node.join(' ')} ${file}`);
      assert.match(out, /^# fail 0$/m);
      tap += out;
    }
    return tap;
  }

  /** How many bit-for-bit cases passed per form and kind (`baseline` → `Conv2D and FusedConv2D` → 12). */
  function formsChecked(tap: string): Map<string, Record<string, number>> {
    const forms = new Map<string, Record<string, number>>();
    for (const [, isa, name] of tap.matchAll(/^ {4}ok \d+ - (\w+): (.*)$/gm)) {
      const kind = Object.keys(CASES_PER_FORM).find((start) => name!.startsWith(start));
      if (kind === undefined) continue;
      const counts = forms.get(isa!) ?? {};
      counts[kind] = (counts[kind] ?? 0) + 1;
      forms.set(isa!, counts);
    }
    return forms;
  }

  test(
    'aarch64: gcc and clang cross builds (-Werror) load in Debian’s arm64 node under qemu-user and equal the stock and wasm kernels bit for bit; auto leaves them to wasm',
    { skip: missing({ 'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross', clang: 'clang', [QEMU]: 'qemu-user-static' }) },
    async () => {
      const sysroot = ok(sh('bash', ['test/support/arm64-node.sh']), 'arm64-node.sh').trim();
      const node = [QEMU, '-L', sysroot, path.join(sysroot, 'usr/bin/node')];
      for (const cc of ['aarch64-linux-gnu-gcc', 'clang --target=aarch64-linux-gnu']) {
        const addon = path.join(work, `${cc.replace(/\W+/g, '_')}.node`);
        build(cc, addon);
        assert.equal(await elfMachine(addon), ELF_MACHINE.arm64, `${cc} built for aarch64`);
        const tap = await bitTests(node, addon);
        assert.deepEqual([...formsChecked(tap)], [['baseline', CASES_PER_FORM]], `${cc}: the portable form, every case`);
      }
      const probe = ok(
        sh(node[0]!, [...node.slice(1), '--input-type=module', '-e',
          "import { loadNativeConv } from './job/backend/native-conv.js'; const a = loadNativeConv('auto'); console.log(JSON.stringify({ arch: process.arch, auto: a.conv?.isa ?? null, why: a.reason, on: loadNativeConv('on').conv?.isa }));"],
        { cwd: tree }),
        'the arm64 probe',
      );
      assert.deepEqual(JSON.parse(probe), {
        arch: 'arm64',
        auto: null,
        why: "arm64 has 128-bit vectors only, WebAssembly's own width (MIXUP_NATIVE_CONV=on uses the native form anyway), so wasm runs the convolutions",
        on: 'baseline',
      });
    },
  );

  test(
    'clang: the x86-64 forms equal the stock and wasm kernels bit for bit here; macOS arm64 and x86-64 addons compile (-Werror) and link as bundles that leave N-API to node',
    { skip: missing({ clang: 'clang', 'ld.lld': 'lld' }) },
    async () => {
      const linux = path.join(work, 'clang-x64.node');
      build('clang', linux);
      assert.equal(await elfMachine(linux), ELF_MACHINE.x64);
      const forms = formsChecked(await bitTests([process.execPath], linux));
      assert.ok(forms.has('baseline'), 'the portable form is checked');
      for (const [isa, counts] of forms) assert.deepEqual(counts, CASES_PER_FORM, `${isa}: every case`);

      // No Apple SDK here: freestanding headers, no system libraries; node resolves napi_* when it loads the bundle.
      const MACH_O_64 = 0xfeedfacf;
      const MH_BUNDLE = 8;
      for (const [target, cpuType] of [['arm64-apple-macos11', 0x0100000c], ['x86_64-apple-macos10.15', 0x01000007]] as const) {
        const bundle = path.join(work, `${target}.node`);
        build(`clang --target=${target} -ffreestanding -nostdlib -fuse-ld=lld`, bundle);
        const bytes = await readFile(bundle);
        assert.deepEqual([bytes.readUInt32LE(0), bytes.readUInt32LE(4), bytes.readUInt32LE(12)], [MACH_O_64, cpuType, MH_BUNDLE], `${target}: a 64-bit Mach-O bundle`);
        assert.ok(bytes.includes('_napi_create_function'), `${target}: N-API left to node`);
      }
    },
  );

  describe('npm ci in a fresh copy of the repository, with a compiler that always fails', () => {
    let copy: string;
    let install: SpawnSyncReturns<string>;
    before(async () => {
      copy = path.join(work, 'clone');
      const files = ok(sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard']), 'git ls-files').split('\0').filter(Boolean);
      for (const file of files) {
        if (!existsSync(path.join(ROOT, file))) continue; // deleted in the work tree, not yet committed
        await mkdir(path.dirname(path.join(copy, file)), { recursive: true });
        await copyFile(path.join(ROOT, file), path.join(copy, file));
      }
      const cc = path.join(work, 'failing-cc');
      await writeFile(cc, '#!/bin/sh\ncase "$*" in *-dumpmachine*) echo x86_64-linux-gnu ;; *) echo "cc1: error: this compiler always fails" >&2; exit 1 ;; esac\n');
      await chmod(cc, 0o755);
      install = sh('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, env: { CC: cc } });
    });

    test('succeeds, its prepare saying so in one line, and leaves no addon', () => {
      const output = ok(install, 'npm ci') + install.stderr;
      const lines = output.split('\n').filter((line) => line.startsWith('native convolution'));
      assert.equal(lines.length, 1, output);
      assert.match(lines[0]!, NOT_BUILT);
      assert.match(lines[0]!, /cc1: error: this compiler always fails/);
      assert.ok(existsSync(path.join(copy, 'dist/job')), 'prepare built the TypeScript');
      assert.equal(existsSync(path.join(copy, 'dist/native', ADDON)), false);
    });

    // npx links this directory into its cache and runs `prepare` for it (npm 11: the first time per
    // directory; npm 10: every time), which rebuilt dist/ and the addon in front of the first run.
    test('the first npx mixup after it rebuilds nothing', async () => {
      ok(install, 'npm ci');
      const cli = path.join(copy, 'dist/scripts/cli.js');
      const built = (await stat(cli)).mtimeMs;
      // A cache of its own: this copy's npx entry goes away with it.
      const help = sh('npx', ['--prefer-offline', 'mixup', '--help'], { cwd: copy, env: { npm_config_cache: path.join(work, 'npm-cache') } });
      assert.match(ok(help, 'npx mixup --help'), /Usage: mixup/);
      assert.equal((await stat(cli)).mtimeMs, built, 'dist/ rebuilt by npx');
      assert.equal(existsSync(path.join(copy, 'dist/native', ADDON)), false, 'the native build ran again under npx');
    });
  });
});
