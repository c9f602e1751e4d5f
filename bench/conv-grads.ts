/**
 * A/B benchmark of the forms a custom conv-gradient kernel can take, on the model's layer shapes
 * at batch 64: `node --import tsx bench/conv-grads.ts [--backend wasm] [--repeats 30]`.
 * The forms run interleaved (A, B, A, B, …) in one process and each figure is a median of process
 * CPU time, so that load from other processes on a shared machine hits every form alike.
 * Prints one JSON object on stdout.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../job/backend/select.js';
import { FILTER_GRAD_FORMS, INPUT_GRAD_FORMS } from '../job/backend/kernels/conv2d-grads.js';
import { TensorAccess, type KernelBackendName } from '../job/backend/kernels/tensor-access.js';
import { UsageError } from '../job/errors.js';

const BATCH_SIZE = 64;
const WARMUP = 3;

interface Layer {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly filter: [number, number, number, number];
}

const LAYERS: readonly Layer[] = [
  { name: 'first layer', x: [BATCH_SIZE, 28, 28, 1], filter: [5, 5, 1, 16] },
  { name: 'second layer', x: [BATCH_SIZE, 12, 12, 16], filter: [5, 5, 16, 32] },
];

function cpuNowMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median CPU ms of each form, the forms interleaved. */
function race(forms: Record<string, () => tf.TensorInfo>, t: TensorAccess, repeats: number): Record<string, number> {
  const names = Object.keys(forms);
  const times = new Map(names.map((n) => [n, [] as number[]]));
  for (let i = 0; i < WARMUP + repeats; i++) {
    for (const name of names) {
      const started = cpuNowMs();
      const out = forms[name]!();
      const spent = cpuNowMs() - started;
      t.dispose(out);
      if (i >= WARMUP) times.get(name)!.push(spent);
    }
  }
  return Object.fromEntries(names.map((n) => [n, Number(median(times.get(n)!).toFixed(3))]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string', default: 'wasm' }, repeats: { type: 'string', default: '30' } },
  });
  const repeats = Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new UsageError(`--repeats ${values.repeats} must be a whole number ≥ 1`);
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new UsageError(`--backend ${values.backend} must be wasm or cpu`);
  const backendName: KernelBackendName = values.backend;
  await initBackend(backendName);
  const t = new TensorAccess(backendName, tf.backend());
  const results = [];
  for (const layer of LAYERS) {
    const info = tf.backend_util.computeConv2DInfo(layer.x, layer.filter, 1, 1, 'valid');
    const x = tf.randomUniform(layer.x);
    const dy = tf.randomUniform(info.outShape);
    const filter = tf.randomUniform(layer.filter);
    const filterForms = Object.fromEntries(
      Object.entries(FILTER_GRAD_FORMS).map(([name, form]) => [name, () => form(t, x, dy, info)]),
    );
    const inputForms = Object.fromEntries(
      Object.entries(INPUT_GRAD_FORMS).map(([name, form]) => [name, () => form(t, dy, filter, info)]),
    );
    results.push({
      layer: layer.name,
      x: layer.x,
      filter: layer.filter,
      filterGradCpuMs: race(filterForms, t, repeats),
      inputGradCpuMs: race(inputForms, t, repeats),
    });
    tf.dispose([x, dy, filter]);
  }
  process.stdout.write(`${JSON.stringify({ backend: backendName, repeats, layers: results }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`conv-grads: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
