/** The user's CLI (scripts/cli.ts through tsx) as a child process, with its output collected. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runUserCli(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'scripts/cli.ts'), ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Packages a command must not load unless it calls them: TensorFlow.js, the AWS SDKs, the canvas. */
const HEAVY = /^(@tensorflow\/|@aws-sdk\/|@smithy\/|@napi-rs\/canvas)/;

/**
 * Runs the user's CLI with every module it resolves traced (test/support/import-trace.mjs) and returns,
 * besides its result, the heavy packages it loaded (`allow` lists the ones this command may load).
 */
export async function heavyPackagesLoaded(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; allow?: RegExp } = {},
): Promise<{ result: CliResult; heavy: string[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-trace-'));
  const trace = path.join(dir, 'trace.txt');
  try {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--import', import.meta.resolve('./import-trace.mjs'), path.join(ROOT, 'scripts/cli.ts'), ...args],
      { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env, MIXUP_IMPORT_TRACE: trace }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const urls = (await readFile(trace, 'utf8').catch(() => '')).split('\n');
    const packages = new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
    const heavy = [...packages].filter((name) => HEAVY.test(name) && !options.allow?.test(name)).sort();
    return { result: { code, stdout, stderr }, heavy };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
