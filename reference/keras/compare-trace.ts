/**
 * How far apart the job and Keras are after a replayed trace of any length (docs/keras-parity.md):
 * per window of steps, both sides' mean loss and the largest relative difference of a step's loss; per
 * weight, ‖ours − Keras‖ / ‖Keras − initial‖ after the last step; and both sides' final weights evaluated
 * by the job on the validation and test images.
 *
 *   node --import tsx reference/keras/write-trace.ts --out TRACE --steps 900
 *   .venv-keras/bin/python reference/keras/replay_trace.py TRACE keras.json
 *   node --import tsx reference/keras/compare-trace.ts TRACE keras.json
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../job/backend/select.js';
import { loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { openDataSource } from '../../job/data/source.js';
import { prepareSplits } from '../../job/data/splits.js';
import { createModel } from '../../job/model.js';
import { evaluate } from '../../job/train.js';
import { fixtureSchema, kerasWeights } from './parity.js';
import { TRACE_ARMS, type TraceArm, type WeightTensor } from './trace.js';

async function weightsFile(file: string, shapes: number[][]): Promise<WeightTensor[]> {
  const bytes = await readFile(file);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  return shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = floats.slice(at, (at += size));
    return { shape, values };
  });
}

const norm = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, x) => sum + x * x, 0));
const mean = (values: number[]) => values.reduce((sum, x) => sum + x, 0) / values.length;

/** Step windows: the first 20, then four equal parts of the rest. */
function windows(steps: number): [number, number][] {
  const first = Math.min(20, steps);
  const out: [number, number][] = [[0, first]];
  const rest = steps - first;
  for (let i = 0; i < 4 && rest > 0; i++) {
    const [a, b] = [first + Math.floor((rest * i) / 4), first + Math.floor((rest * (i + 1)) / 4)];
    if (b > a) out.push([a, b]);
  }
  return out;
}

async function main(): Promise<void> {
  const [traceDir, fixtureFile] = process.argv.slice(2);
  if (!traceDir || !fixtureFile) throw new Error('usage: compare-trace.ts TRACE_DIR KERAS_JSON');
  const meta = JSON.parse(await readFile(path.join(traceDir, 'trace.json'), 'utf8')) as { ours: { losses: Record<TraceArm, number[]> } };
  const fixture = fixtureSchema.parse(JSON.parse(await readFile(fixtureFile, 'utf8')));
  const shapes = fixture.trace.weightShapes;
  await initBackend('wasm');
  const splits = prepareSplits(await loadFashionMnist(openDataSource()));
  const initial = await weightsFile(path.join(traceDir, 'initial.f32'), shapes);
  const model = createModel(fixture.trace.settings.seed);
  const lines: string[] = [];
  for (const arm of TRACE_ARMS) {
    const ours = await weightsFile(path.join(traceDir, `${arm}.weights.f32`), shapes);
    const keras = kerasWeights(fixture, arm);
    const [lo, lk] = [meta.ours.losses[arm], fixture.arms[arm].losses];
    lines.push(`${arm}, ${lo.length} steps from the same trace:`);
    for (const [a, b] of windows(lo.length)) {
      const worst = Math.max(...lo.slice(a, b).map((x, i) => Math.abs(x - lk[a + i]!) / lk[a + i]!));
      lines.push(`  steps ${a + 1}–${b}: mean loss ${mean(lo.slice(a, b)).toFixed(4)} (job) ${mean(lk.slice(a, b)).toFixed(4)} (Keras), a step's largest relative difference ${worst.toExponential(1)}`);
    }
    const drift = ours.map((w, i) => norm(w.values.map((v, j) => v - keras[i]!.values[j]!)) / norm(keras[i]!.values.map((v, j) => v - initial[i]!.values[j]!)));
    lines.push(`  weights after the last step, ‖job − Keras‖ / ‖Keras − initial‖: ${drift.map((d) => d.toExponential(1)).join(' ')}`);
    for (const [name, weights] of [['job', ours], ['Keras', keras]] as const) {
      const tensors = weights.map((w) => tf.tensor(w.values, w.shape));
      model.setWeights(tensors);
      tf.dispose(tensors);
      const [val, test] = [evaluate(model, splits.val, 64), evaluate(model, splits.test, 64)];
      lines.push(`  ${name}'s weights: validation ${(100 * val.accuracy).toFixed(2)} %, test ${(100 * test.accuracy).toFixed(2)} % (loss ${test.loss.toFixed(4)})`);
    }
  }
  model.dispose();
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`compare-trace: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
