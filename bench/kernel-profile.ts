/**
 * Per-kernel CPU profile of a batch-64 train step: `node --import tsx bench/kernel-profile.ts
 * [--backend wasm] [--steps 40] [--warmup 5] [--top 25]`. Every kernel of the backend is wrapped
 * so that its process CPU time (user + system) is charged to its name and input shapes; a kernel
 * that runs other kernels (the custom conv gradients do) is charged its own time only. What no
 * kernel accounts for is the JavaScript around them (tape, optimizer, tensor bookkeeping).
 * CPU time rather than wall time, because the machine is shared: other processes stretch the wall
 * clock but not this process's CPU time. Prints one JSON object on stdout.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../job/backend/select.js';
import { UsageError } from '../job/errors.js';
import { createModel, setDropoutSeed } from '../job/model.js';
import { CLASS_COUNT as NUM_CLASSES, IMAGE_PIXELS } from '../job/shared/fashion-mnist.js';
import { createOptimizer, trainStep } from '../job/train-step.js';
import { cpuNowMs, median } from './timing.js';
import { positiveInt } from './flags.js';

const BATCH_SIZE = 64;

interface Entry {
  calls: number;
  cpuMs: number;
}

/**
 * Wraps every registered kernel of `backend` in place. The engine looks kernels up by name on each
 * call, so mutating the registered config is enough. Returns the table the wrappers fill.
 */
function instrument(backend: string): Map<string, Entry> {
  const table = new Map<string, Entry>();
  let childMs = 0;
  for (const config of tf.getKernelsForBackend(backend)) {
    const inner = config.kernelFunc;
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      const outerChildMs = childMs;
      childMs = 0;
      const started = cpuNowMs();
      const out = inner(args);
      const spent = cpuNowMs() - started;
      const shapes = Object.values(args.inputs)
        .filter((t): t is tf.TensorInfo => t !== undefined && t !== null)
        .map((t) => `[${t.shape.join(',')}]`);
      const key = `${config.kernelName} ${shapes.join(' ')}`;
      const entry = table.get(key) ?? { calls: 0, cpuMs: 0 };
      entry.calls++;
      entry.cpuMs += spent - childMs;
      table.set(key, entry);
      childMs = outerChildMs + spent;
      return out;
    };
  }
  return table;
}

function randomBatch(seed: number): { x: Float32Array; y: Float32Array } {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const x = new Float32Array(BATCH_SIZE * IMAGE_PIXELS).map(next);
  const y = new Float32Array(BATCH_SIZE * NUM_CLASSES);
  for (let i = 0; i < BATCH_SIZE; i++) y[i * NUM_CLASSES + Math.floor(next() * NUM_CLASSES)] = 1;
  return { x, y };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      steps: { type: 'string', default: '40' },
      warmup: { type: 'string', default: '5' },
      top: { type: 'string', default: '25' },
    },
  });
  const [steps, warmup, top] = (['steps', 'warmup', 'top'] as const).map((name) => positiveInt(name, values[name])) as [number, number, number];
  if (values.backend !== 'wasm' && values.backend !== 'cpu') {
    throw new UsageError(`--backend ${values.backend} must be wasm or cpu`);
  }
  await initBackend(values.backend);
  const model = createModel();
  const optimizer = createOptimizer();
  const batches = [randomBatch(1), randomBatch(2)];
  // A seed per step, as training sets it (a layer without one takes tfjs' own dropout).
  const step = (i: number) => {
    setDropoutSeed(model, 1000 + i);
    trainStep(model, optimizer, batches[i % 2]!.x, batches[i % 2]!.y, BATCH_SIZE);
  };
  for (let i = 0; i < warmup; i++) step(i);

  const table = instrument(values.backend);
  const stepMs: number[] = [];
  let totalMs = 0;
  for (let i = 0; i < steps; i++) {
    const started = cpuNowMs();
    step(warmup + i);
    const spent = cpuNowMs() - started;
    stepMs.push(spent);
    totalMs += spent;
  }
  const rows = [...table.entries()].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const kernelMs = rows.reduce((sum, [, e]) => sum + e.cpuMs, 0);
  const report = {
    backend: values.backend,
    batchSize: BATCH_SIZE,
    steps,
    medianStepCpuMs: Number(median(stepMs).toFixed(2)),
    meanStepCpuMs: Number((totalMs / steps).toFixed(2)),
    kernelsPerStep: Number((rows.reduce((sum, [, e]) => sum + e.calls, 0) / steps).toFixed(1)),
    outsideKernelsMsPerStep: Number(((totalMs - kernelMs) / steps).toFixed(2)),
    kernels: rows.slice(0, top).map(([key, e]) => ({
      kernel: key,
      msPerStep: Number((e.cpuMs / steps).toFixed(3)),
      callsPerStep: e.calls / steps,
    })),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kernel-profile: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
