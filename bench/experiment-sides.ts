/**
 * The three sides of bench:experiment, each run as fresh processes with the same epochs, seed and
 * data: ours (`mixup run`, both arms, on a given backend), the PyTorch reference (reference/pytorch/mixup_torch.py
 * `train`, baseline then mixup, a process each) and the Keras example (reference/keras/mixup_keras.py
 * `--arms both`, one process, in the virtualenv reference/keras/setup.sh makes). Each result has the
 * wall seconds around the processes, their CPU seconds (user + system, children included) and the
 * test accuracy of each arm.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'mixup.js');
const TORCH_ARMS = ['baseline', 'mixup'] as const;

export interface SideOptions {
  readonly epochs: number;
  readonly seed: number;
  readonly data: string;
}

export interface SideRun {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly testAccuracy: Record<string, number>;
  /** Ours only: each arm's training images/s, from metrics.json (the training loop alone, one core each). */
  readonly armImagesPerSecond?: Record<string, number>;
  readonly backend?: string;
}

/** A side that can run here, or why it cannot. */
export type Side = { readonly name: string; readonly run: (options: SideOptions, round: number) => Promise<SideRun> } | { readonly name: string; readonly unavailable: string };

interface Timed {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly stdout: string;
}

/** bash's `times`: "0m1.250s 0m0.030s" per line; the second line is the children's user and system. */
export function childrenCpuSeconds(times: string): number {
  const line = times.trim().split('\n')[1] ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) throw new Error(`unexpected output of bash's times: ${JSON.stringify(times)}`);
  return parts.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

/** Runs `command` in a fresh process; wall seconds around it, CPU seconds of it and its children. */
function timed(command: string, args: string[]): Promise<Timed> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    // bash runs the command, then reports its children's CPU time on fd 3.
    const child = spawn('bash', ['-c', '"$@"; rc=$?; times >&3; exit $rc', 'bench', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const times: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => times.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${tail}`));
        return;
      }
      resolvePromise({ wallSeconds, cpuSeconds: childrenCpuSeconds(Buffer.concat(times).toString('utf8')), stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** `mixup run` on `backend` (auto, wasm, tensorflow or cpu), as the side called `name`. */
export function oursSide(name: string, backend: string): Side {
  return {
    name,
    run: async (options, round) => {
      const out = await mkdtemp(join(os.tmpdir(), 'mixup-bench-'));
      try {
        const runId = `bench-${round}`;
        const result = await timed(process.execPath, [
          CLI, 'run', '--epochs', String(options.epochs), '--seed', String(options.seed), '--data', options.data, '--out', out, '--run-id', runId, '--backend', backend,
        ]);
        const metrics = JSON.parse(await readFile(join(out, runId, 'metrics.json'), 'utf8')) as {
          backend: string;
          arms: Record<string, { test: { accuracy: number }; imagesPerSecond?: number }>;
        };
        const arms = Object.entries(metrics.arms);
        return {
          wallSeconds: result.wallSeconds,
          cpuSeconds: result.cpuSeconds,
          testAccuracy: Object.fromEntries(arms.map(([arm, m]) => [arm, m.test.accuracy])),
          armImagesPerSecond: Object.fromEntries(arms.filter(([, m]) => m.imagesPerSecond !== undefined).map(([arm, m]) => [arm, m.imagesPerSecond!])),
          backend: metrics.backend,
        };
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    },
  };
}

/** The PyTorch reference with Debian's python3-torch; unavailable where python or torch is missing. */
export async function torchSide(python: string, reference: string): Promise<Side> {
  const name = 'torch';
  if (!existsSync(python)) return { name, unavailable: `${python} not found` };
  if (!existsSync(reference)) return { name, unavailable: `${reference} not found` };
  try {
    await timed(python, ['-c', 'import torch']);
  } catch {
    return { name, unavailable: `${python} has no torch (apt-get install python3-torch)` };
  }
  return {
    name,
    run: async (options) => {
      let wallSeconds = 0;
      let cpuSeconds = 0;
      const testAccuracy: Record<string, number> = {};
      for (const mode of TORCH_ARMS) {
        const result = await timed(python, [reference, 'train', '--mode', mode, '--epochs', String(options.epochs), '--seed', String(options.seed), '--data', options.data]);
        wallSeconds += result.wallSeconds;
        cpuSeconds += result.cpuSeconds;
        const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        if (line === undefined) throw new Error(`${reference} train --mode ${mode} printed no RESULT line`);
        testAccuracy[mode] = (JSON.parse(line.slice('RESULT '.length)) as { test_acc: number }).test_acc;
      }
      return { wallSeconds, cpuSeconds, testAccuracy };
    },
  };
}

/** The Keras example in its virtualenv; unavailable where reference/keras/setup.sh has not made it. */
export function kerasSide(python: string, reference: string): Side {
  const name = 'keras';
  if (!existsSync(reference)) return { name, unavailable: `${reference} not found` };
  if (!existsSync(python)) return { name, unavailable: `${python} not found (reference/keras/setup.sh makes it)` };
  return {
    name,
    run: async (options) => {
      const result = await timed(python, [reference, '--arms', 'both', '--epochs', String(options.epochs), '--seed', String(options.seed), '--data', options.data]);
      const line = result.stdout.trim().split('\n').pop() ?? '';
      let parsed: { arms: Record<string, { test: { accuracy: number } }> };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        throw new Error(`${reference} printed no JSON line: ${JSON.stringify(line.slice(0, 200))}`);
      }
      const testAccuracy = Object.fromEntries(Object.entries(parsed.arms).map(([arm, m]) => [arm, m.test.accuracy]));
      return { wallSeconds: result.wallSeconds, cpuSeconds: result.cpuSeconds, testAccuracy };
    },
  };
}
