/**
 * Writes the parity trace (trace.ts) to a directory for reference/keras/replay_trace.py:
 *
 *   trace.json            settings, dropout rate and unit shape, weight shapes, file names, SHA-256 of
 *                         each input, and the job's own per-step losses
 *   initial.f32           the initial weights, createModel(seed).getWeights() order, concatenated
 *   <arm>.rows1.i32       steps × batch training rows (mixup: the first stream)
 *   mixup.rows2.i32       the second stream's rows
 *   mixup.lambda.f32      λ per sample
 *   <arm>.keep.u8         steps × batch × units, 1 = kept by dropout
 *   <arm>.weights.f32     the job's weights after the last step (for reading drift by hand)
 *
 * All little-endian. Usage:
 *   node --import tsx reference/keras/write-trace.ts --out DIR [--seed 42] [--steps 20] [--data DIR]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { initBackend } from '../../job/backend/select.js';
import { loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { openDataSource } from '../../job/data/source.js';
import { prepareSplits } from '../../job/data/splits.js';
import { recordTrace, TRACE_ARMS, TRACE_VERSION, traceDigests, type Trace } from './trace.js';

/** The trace the committed fixture replays (test/unit/keras-parity.test.ts): seed and steps per arm. */
export const DEFAULT_TRACE_SEED = 42;
export const DEFAULT_TRACE_STEPS = 20;
/** The Keras example's constants, which the replay uses too. */
export const EXAMPLE_ALPHA = 0.2;
export const EXAMPLE_BATCH_SIZE = 64;

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function concat(values: Float32Array[]): Float32Array {
  const out = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of values) {
    out.set(v, at);
    at += v.length;
  }
  return out;
}

export async function writeTrace(trace: Trace, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const put = async (key: string, name: string, data: ArrayBufferView) => {
    files[key] = name;
    await writeFile(path.join(dir, name), bytes(data));
  };
  await put('initial', 'initial.f32', concat(trace.initial.map((w) => w.values)));
  const losses: Record<string, number[]> = {};
  for (const arm of TRACE_ARMS) {
    const a = trace.arms[arm];
    await put(`${arm}.rows1`, `${arm}.rows1.i32`, a.rows1);
    if (a.rows2) await put(`${arm}.rows2`, `${arm}.rows2.i32`, a.rows2);
    if (a.lambda) await put(`${arm}.lambda`, `${arm}.lambda.f32`, a.lambda);
    await put(`${arm}.keep`, `${arm}.keep.u8`, a.keep);
    await put(`${arm}.weights`, `${arm}.weights.f32`, concat(a.weights.map((w) => w.values)));
    losses[arm] = a.losses;
  }
  const meta = {
    version: TRACE_VERSION,
    settings: trace.settings,
    dropout: trace.dropout,
    weightShapes: trace.initial.map((w) => w.shape),
    arms: TRACE_ARMS,
    files,
    sha256: traceDigests(trace),
    ours: { losses },
  };
  await writeFile(path.join(dir, 'trace.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: String(DEFAULT_TRACE_SEED) },
      steps: { type: 'string', default: String(DEFAULT_TRACE_STEPS) },
      data: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const int = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} ${text}: must be a whole number ≥ 0`);
    return n;
  };
  if (!values.out) throw new Error('--out DIR is required');
  const backend = values.backend as 'wasm' | 'cpu';
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend ${values.backend}: wasm or cpu`);
  await initBackend(backend);
  const splits = prepareSplits(await loadFashionMnist(openDataSource(values.data)));
  const settings = { seed: int('seed', values.seed), steps: int('steps', values.steps), alpha: EXAMPLE_ALPHA, batchSize: EXAMPLE_BATCH_SIZE };
  const trace = await recordTrace(splits.train, settings);
  await writeTrace(trace, values.out);
  process.stdout.write(`${path.resolve(values.out)}: trace of seed ${settings.seed}, ${settings.steps} steps per arm\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`write-trace: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
