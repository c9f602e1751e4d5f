/**
 * A/B benchmark of the fused Adam update: `npm run bench:adam [-- --backend wasm --rounds 12 --steps 20]`.
 * Two models from the same weights train on the same batch-64 batch, one with tfjs' stock Adam (14
 * kernels per weight; its ε sits elsewhere than Keras's, the same amount of work) and one with this
 * project's fused Keras update, in interleaved rounds in one process; each figure is the
 * median over rounds of process CPU ms per step (whole train step, and the update alone), so that
 * load from other processes on a shared machine hits both alike. Prints one JSON object on stdout.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FusedAdamOptimizer } from '../job/backend/fused-adam.js';
import { initBackend } from '../job/backend/select.js';
import { UsageError } from '../job/errors.js';
import { createModel, setDropoutSeed } from '../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../job/shared/fashion-mnist.js';
import { LEARNING_RATE, trainStep } from '../job/train-step.js';
import { cpuNowMs, median } from './timing.js';
import { positiveInt } from './flags.js';

const BATCH_SIZE = 64;
const HYPER = [LEARNING_RATE, 0.9, 0.999, 1e-7] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      rounds: { type: 'string', default: '12' },
      steps: { type: 'string', default: '20' },
    },
  });
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new UsageError(`--backend ${values.backend} must be wasm or cpu`);
  const rounds = positiveInt('rounds', values.rounds);
  const steps = positiveInt('steps', values.steps);
  await initBackend(values.backend);
  const x = new Float32Array(BATCH_SIZE * IMAGE_PIXELS).map((_, i) => ((i * 7919) % 255) / 255);
  const y = new Float32Array(BATCH_SIZE * CLASS_COUNT);
  for (let i = 0; i < BATCH_SIZE; i++) y[i * CLASS_COUNT + (i % CLASS_COUNT)] = 1;
  const contenders = {
    stock: { model: createModel(1), optimizer: tf.train.adam(...HYPER) as tf.Optimizer },
    fused: { model: createModel(1), optimizer: new FusedAdamOptimizer(...HYPER) as tf.Optimizer },
  };
  const stepMs: Record<string, number[]> = { stock: [], fused: [] };
  const updateMs: Record<string, number[]> = { stock: [], fused: [] };
  // Round 0 warms up (the moments are created on the first update).
  for (let r = 0; r <= rounds; r++) {
    for (const [name, { model, optimizer }] of Object.entries(contenders)) {
      const started = cpuNowMs();
      for (let s = 0; s < steps; s++) {
        setDropoutSeed(model, s);
        trainStep(model, optimizer, x, y, BATCH_SIZE);
      }
      const spent = (cpuNowMs() - started) / steps;
      // The update alone, on gradient-shaped tensors (the weights themselves).
      const gradients = model.trainableWeights.map((w) => ({ name: (w.read() as tf.Variable).name, tensor: tf.mul(w.read(), 1e-3) }));
      const updateStarted = cpuNowMs();
      for (let s = 0; s < steps; s++) optimizer.applyGradients(gradients);
      const update = (cpuNowMs() - updateStarted) / steps;
      tf.dispose(gradients.map((g) => g.tensor));
      if (r > 0) {
        stepMs[name]!.push(spent);
        updateMs[name]!.push(update);
      }
    }
  }
  const figures = (table: Record<string, number[]>) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, Number(median(v).toFixed(3))]));
  const report = {
    backend: values.backend,
    batchSize: BATCH_SIZE,
    rounds,
    stepsPerRound: steps,
    medianStepCpuMs: figures(stepMs),
    medianUpdateCpuMs: figures(updateMs),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:adam: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? err.exitCode : 1);
});
