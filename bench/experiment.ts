/**
 * The goal's benchmark: `npm run bench:experiment [-- --epochs 2 --rounds 1 --seed 42 --data DIR]`.
 * Runs the whole experiment (both arms, N epochs, real Fashion-MNIST, default settings) as
 * `mixup run` does, in a fresh process, and, where /usr/bin/python3 has torch, the PyTorch
 * reference (reference/pytorch/mixup_torch.py: `train --mode baseline`, then `--mode mixup`,
 * each a fresh process) with the same epochs, seed and data, back to back; the order alternates between
 * rounds so that drift in the machine's load hits both alike. Prints one JSON object: each side's
 * wall and CPU seconds per round (CPU: user + system of the process and its children, which a
 * shared machine disturbs less than wall time), their medians, and the ratio torch wall / ours
 * wall (≥ 1 means ours is faster).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from '../job/errors.js';
import { median } from './timing.js';
import { positiveInt } from './flags.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'mixup.js');
const PYTHON = '/usr/bin/python3';
const REFERENCE = join(ROOT, 'reference', 'pytorch', 'mixup_torch.py');
const DEFAULT_DATA = '/usr/share/datasets/fashion-mnist';
const TORCH_ARMS = ['baseline', 'mixup'] as const;

interface Options {
  readonly epochs: number;
  readonly rounds: number;
  readonly seed: number;
  readonly data: string;
  readonly backend: string;
  readonly reference: string;
}

interface Timed {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly stdout: string;
}

interface Side {
  readonly wallSeconds: number[];
  readonly cpuSeconds: number[];
  readonly testAccuracy: Record<string, number>[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      epochs: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      data: { type: 'string', default: process.env['FASHION_MNIST_DIR'] ?? DEFAULT_DATA },
      backend: { type: 'string', default: 'auto' },
      reference: { type: 'string', default: REFERENCE },
    },
  });
  return {
    epochs: positiveInt('epochs', values.epochs),
    rounds: positiveInt('rounds', values.rounds),
    seed: positiveInt('seed', values.seed, 0),
    data: values.data,
    backend: values.backend,
    reference: values.reference,
  };
}

/** bash's `times`: "0m1.250s 0m0.030s" per line; the second line is the children's user and system. */
function childrenCpuSeconds(times: string): number {
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

async function runOurs(options: Options, round: number): Promise<{ timed: Timed; testAccuracy: Record<string, number>; backend: string }> {
  const out = await mkdtemp(join(os.tmpdir(), 'mixup-bench-'));
  try {
    const runId = `bench-${round}`;
    const args = [CLI, 'run', '--epochs', String(options.epochs), '--seed', String(options.seed), '--data', options.data, '--out', out, '--run-id', runId, '--backend', options.backend];
    const result = await timed(process.execPath, args);
    const metrics = JSON.parse(await readFile(join(out, runId, 'metrics.json'), 'utf8')) as {
      backend: string;
      arms: Record<string, { test: { accuracy: number } }>;
    };
    const testAccuracy = Object.fromEntries(Object.entries(metrics.arms).map(([arm, m]) => [arm, m.test.accuracy]));
    return { timed: result, testAccuracy, backend: metrics.backend };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function runTorch(options: Options): Promise<{ timed: Timed; testAccuracy: Record<string, number> }> {
  let wallSeconds = 0;
  let cpuSeconds = 0;
  const testAccuracy: Record<string, number> = {};
  for (const mode of TORCH_ARMS) {
    const result = await timed(PYTHON, [options.reference, 'train', '--mode', mode, '--epochs', String(options.epochs), '--seed', String(options.seed), '--data', options.data]);
    wallSeconds += result.wallSeconds;
    cpuSeconds += result.cpuSeconds;
    const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined) throw new Error(`${options.reference} train --mode ${mode} printed no RESULT line`);
    testAccuracy[mode] = (JSON.parse(line.slice('RESULT '.length)) as { test_acc: number }).test_acc;
  }
  return { timed: { wallSeconds, cpuSeconds, stdout: '' }, testAccuracy };
}

/** null where the reference cannot run here, with the reason. */
async function torchUnavailable(reference: string): Promise<string | null> {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  if (!existsSync(reference)) return `${reference} not found`;
  try {
    await timed(PYTHON, ['-c', 'import torch']);
    return null;
  } catch {
    return `${PYTHON} has no torch (apt-get install python3-torch)`;
  }
}

function round3(value: number): number {
  return Number(value.toFixed(3));
}

function summary(side: Side): Record<string, unknown> {
  return {
    wallSeconds: side.wallSeconds.map(round3),
    cpuSeconds: side.cpuSeconds.map(round3),
    medianWallSeconds: round3(median(side.wallSeconds)),
    medianCpuSeconds: round3(median(side.cpuSeconds)),
    testAccuracy: side.testAccuracy,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(options.data)) throw new UsageError(`--data ${options.data}: no such directory (apt-get install dataset-fashion-mnist)`);
  const torchReason = await torchUnavailable(options.reference);
  const ours: Side = { wallSeconds: [], cpuSeconds: [], testAccuracy: [] };
  const torch: Side = { wallSeconds: [], cpuSeconds: [], testAccuracy: [] };
  let backend = '';
  for (let r = 0; r < options.rounds; r++) {
    const order = torchReason === null && r % 2 === 1 ? ['torch', 'ours'] : ['ours', 'torch'];
    for (const who of order) {
      if (who === 'ours') {
        process.stderr.write(`bench:experiment: round ${r + 1}/${options.rounds}, mixup run…\n`);
        const result = await runOurs(options, r);
        backend = result.backend;
        ours.wallSeconds.push(result.timed.wallSeconds);
        ours.cpuSeconds.push(result.timed.cpuSeconds);
        ours.testAccuracy.push(result.testAccuracy);
      } else if (torchReason === null) {
        process.stderr.write(`bench:experiment: round ${r + 1}/${options.rounds}, PyTorch reference…\n`);
        const result = await runTorch(options);
        torch.wallSeconds.push(result.timed.wallSeconds);
        torch.cpuSeconds.push(result.timed.cpuSeconds);
        torch.testAccuracy.push(result.testAccuracy);
      }
    }
  }
  const report = {
    epochs: options.epochs,
    seed: options.seed,
    rounds: options.rounds,
    data: options.data,
    ours: { command: 'mixup run', backend, ...summary(ours) },
    torch: torchReason === null ? { available: true, command: `${PYTHON} ${options.reference} train`, ...summary(torch) } : { available: false, reason: torchReason },
    /** torch wall / ours wall, medians; ≥ 1 means ours is faster. */
    ratio: torchReason === null ? round3(median(torch.wallSeconds) / median(ours.wallSeconds)) : null,
    roundRatios: torchReason === null ? ours.wallSeconds.map((w, i) => round3(torch.wallSeconds[i]! / w)) : [],
    cpuRatio: torchReason === null ? round3(median(torch.cpuSeconds) / median(ours.cpuSeconds)) : null,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:experiment: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? err.exitCode : 1);
});
