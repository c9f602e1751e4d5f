/**
 * `npm run bench:cli [-- --rounds 10]`: how fast the user's CLI answers. Builds the CLI, makes a small
 * local sweep once (a fake Fashion-MNIST, one epoch on 128 images: the sweep's size does not matter,
 * reading it does), then times `mixup --help` and `mixup results` on that sweep, each a fresh
 * `node bin/mixup.js` process, N rounds interleaved. Prints one JSON object: each command's wall
 * milliseconds per round, their median, the commit and the load average (a busy machine is slower;
 * figures for the docs come from an idle one).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { writeFakeFashionMnist } from '../test/support/fake-dataset.js';
import { positiveInt } from './flags.js';
import { median } from './timing.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'mixup.js');
const SWEEP_ID = 'bench-cli';

function mixup(args: readonly string[], cwd: string): { ms: number; code: number | null; output: string } {
  const began = performance.now();
  const child = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { ms: performance.now() - began, code: child.status, output: `${child.stdout}${child.stderr}` };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '10' } } });
  const rounds = positiveInt('rounds', values.rounds);
  const dir = await mkdtemp(join(os.tmpdir(), 'mixup-bench-cli-'));
  try {
    const data = join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64 });
    const made = mixup(
      ['sweep', '--executor', 'local', '--concurrency', '1', '--alphas', '0.2', '--seeds', '2', '--epochs', '1', '--train-limit', '128', '--val-samples', '64',
        '--data', data, '--results', dir, '--sweep-id', SWEEP_ID],
      dir,
    );
    if (made.code !== 0) throw new Error(`the bench sweep failed (exit ${made.code}):\n${made.output}`);
    const commands = {
      help: ['--help'],
      results: ['results', '--sweep', SWEEP_ID, '--results', dir],
    } as const;
    const times: Record<keyof typeof commands, number[]> = { help: [], results: [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(commands) as (keyof typeof commands)[]) {
        const run = mixup(commands[name], dir);
        if (run.code !== 0) throw new Error(`mixup ${commands[name].join(' ')} exited ${run.code}:\n${run.output}`);
        times[name].push(Math.round(run.ms));
      }
    }
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    process.stdout.write(
      `${JSON.stringify(
        {
          commit,
          date: new Date().toISOString(),
          node: process.version,
          loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
          cores: os.availableParallelism(),
          rounds,
          medianMs: { help: median(times.help), results: median(times.results) },
          ms: times,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
