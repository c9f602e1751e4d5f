/**
 * Where a wasm train step's time goes, by V8's sampling profiler: `npm run -s bench:cpu-profile --
 * [--steps 600] [--warmup 20] [--top 15]`. Runs batch-64 train steps (a dropout seed per step, as
 * training sets it) under node:inspector's Profiler and charges every sample inside `trainStep` to
 * WebAssembly (the backend's module and this project's SIMD routines) or to the JavaScript file it ran
 * in. Unlike `bench:profile`, nothing wraps the kernels, so the JavaScript share is not inflated by the
 * measurement. Prints one JSON object: ms per step by category and the top JavaScript functions.
 */
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { initBackend } from '../job/backend/select.js';
import { UsageError } from '../job/errors.js';
import { createModel, setDropoutSeed } from '../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../job/shared/fashion-mnist.js';
import { createOptimizer, trainStep } from '../job/train-step.js';
import { positiveInt } from './flags.js';

const BATCH_SIZE = 64;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds of samples under `trainStep`, by category and by JavaScript function. */
function attribute(profile: Profile): { total: number; categories: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inStep = new Map<number, boolean>();
  const underTrainStep = (id: number): boolean => {
    const known = inStep.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const result = node.callFrame.functionName === 'trainStep' || (up !== undefined && underTrainStep(up));
    inStep.set(id, result);
    return result;
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (!underTrainStep(id)) return;
    const micros = profile.timeDeltas[i] ?? 0;
    const { functionName, url } = byId.get(id)!.callFrame;
    const wasm = url.startsWith('wasm') || functionName.startsWith('wasm-function');
    const file = url.split('/').pop() || functionName;
    const category = wasm ? 'WebAssembly' : functionName === '(garbage collector)' ? 'garbage collector' : `JavaScript: ${file}`;
    total += micros;
    categories.set(category, (categories.get(category) ?? 0) + micros);
    if (!wasm) {
      // No line numbers: tsx's transpiled TypeScript reports its own.
      const key = `${functionName || '(anonymous)'} ${file}`;
      functions.set(key, (functions.get(key) ?? 0) + micros);
    }
  });
  return { total, categories, functions };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '600' },
      warmup: { type: 'string', default: '20' },
      top: { type: 'string', default: '15' },
    },
  });
  const steps = positiveInt('steps', values.steps);
  const warmup = positiveInt('warmup', values.warmup);
  const top = positiveInt('top', values.top);
  await initBackend('wasm');
  const model = createModel(1);
  const optimizer = createOptimizer();
  const x = Float32Array.from({ length: BATCH_SIZE * IMAGE_PIXELS }, (_, i) => ((i * 7919) % 255) / 255);
  const y = new Float32Array(BATCH_SIZE * CLASS_COUNT);
  for (let i = 0; i < BATCH_SIZE; i++) y[i * CLASS_COUNT + (i % CLASS_COUNT)] = 1;
  const step = (i: number) => {
    setDropoutSeed(model, i);
    trainStep(model, optimizer, x, y, BATCH_SIZE);
  };
  for (let i = 0; i < warmup; i++) step(i);

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const started = performance.now();
  for (let i = 0; i < steps; i++) step(warmup + i);
  const wallMs = performance.now() - started;
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  session.disconnect();

  const { total, categories, functions } = attribute(profile);
  const perStep = (micros: number) => Number((micros / 1000 / steps).toFixed(3));
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  const report = {
    backend: 'wasm',
    batchSize: BATCH_SIZE,
    steps,
    wallMsPerStep: Number((wallMs / steps).toFixed(2)),
    sampledMsPerStepInTrainStep: perStep(total),
    javaScriptMsPerStep: perStep([...categories].filter(([name]) => name.startsWith('JavaScript')).reduce((sum, [, micros]) => sum + micros, 0)),
    byCategory: Object.fromEntries(sorted(categories).map(([name, micros]) => [name, perStep(micros)])),
    topJavaScript: sorted(functions).slice(0, top).map(([name, micros]) => ({ function: name, msPerStep: perStep(micros) })),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`cpu-profile: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
