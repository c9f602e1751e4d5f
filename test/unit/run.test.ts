import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import type { ArmName, Metrics } from '../../job/shared/metrics.js';
import type { RunConfig } from '../../job/shared/run-settings.js';
import { loadModel } from '../../job/artifacts/model-io.js';
import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { openDataSource } from '../../job/data/source.js';
import { prepareSplits } from '../../job/data/splits.js';
import { JobError } from '../../job/errors.js';
import { createModel } from '../../job/model.js';
import type { Reporter } from '../../job/progress.js';
import { LocalStorage } from '../../job/storage/local.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { freshProgress, trainArm } from '../../job/train.js';
import { createOptimizer } from '../../job/train-step.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { golden, runNumbers } from '../support/golden.js';

function quietReporter(events: { name: string; fields: Record<string, unknown> }[] = []): Reporter {
  return { event: (name, fields = {}) => events.push({ name, fields }), step() {}, epoch() {}, close() {} };
}

const numbers = runNumbers;

describe('mixup run on small generated data', () => {
  let dir: string;
  let data: string;
  const config = (overrides: Partial<Record<string, string>> = {}): RunConfig =>
    resolveRunConfig({ epochs: '2', batchSize: '32', valSamples: '64', seed: '5', backend: 'wasm', data, out: path.join(dir, 'runs'), ...overrides }, {});

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-run-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 384, test: 128, seed: 3 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  let first: Metrics;
  test('writes metrics, history, pictures, models and, last, a manifest that verifies', async () => {
    const result = await runExperiment(config({ runId: 'a' }), { reporter: quietReporter() });
    assert.equal(result.status, 'completed');
    first = result.metrics!;
    const run = new LocalStorage(path.join(dir, 'runs', 'a'));
    const manifest = await readManifest(run);
    assert.ok(manifest);
    assert.deepEqual(await verifyManifest(run, manifest), []);
    const keys = manifest.objects.map((o) => o.key).sort();
    for (const key of ['metrics.json', 'history.csv', 'samples.png', 'curves.png', 'models/initial/model.json', 'models/mixup/weights.bin', 'models/baseline/model.json']) {
      assert.ok(keys.includes(key), `${key} in manifest`);
    }
    const metrics = JSON.parse(await readFile(path.join(dir, 'runs', 'a', 'metrics.json'), 'utf8')) as Metrics;
    assert.equal(metrics.backend, 'wasm');
    assert.equal(metrics.device?.kind, 'wasm', 'metrics.json records the device trained on');
    assert.equal(metrics.config.alpha, 0.2);
    assert.equal(metrics.config.data, data);
    assert.ok(metrics.versions['@tensorflow/tfjs']);
    for (const arm of ['mixup', 'baseline'] as ArmName[]) {
      const m = metrics.arms[arm]!;
      assert.equal(m.history.length, 2);
      for (const field of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'seconds'] as const) {
        assert.ok(Number.isFinite(m.history[1]![field]), `${arm} ${field}`);
      }
      assert.ok(m.imagesPerSecond > 0);
    }
    assert.deepEqual(await run.list('checkpoints/'), [], 'a complete run keeps no checkpoint');
    const csv = (await readFile(path.join(dir, 'runs', 'a', 'history.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 1 + 4);
  });

  test('the numbers are the pinned ones: wasm runs are bit-reproducible across machines and commits', () => {
    // A change to the data, shuffles, λ, mixing, model, kernels or training shows here. If it is
    // meant, regenerate test/golden/unit-run.json (test/support/write-golden.ts) and say why in the commit.
    assert.deepEqual(numbers(first), golden('unit-run'), JSON.stringify(numbers(first), null, 2));
  });

  test('at α > 0 the mixup arm trains on mixed batches: its epoch-1 loss is above the baseline\'s, its results differ', () => {
    const [mixup, baseline] = [first.arms.mixup!, first.arms.baseline!];
    // Soft targets cannot be fitted as well as one-hot ones from the same weights.
    assert.ok(mixup.history[0]!.loss > baseline.history[0]!.loss, `mixup ${mixup.history[0]!.loss} vs baseline ${baseline.history[0]!.loss}`);
    assert.notDeepEqual(mixup.test, baseline.test);
    assert.notDeepEqual(mixup.history.map((h) => h.valLoss), baseline.history.map((h) => h.valLoss));
  });

  test('saved models load with tfjs\' own tf.loadLayersModel over HTTP and give the recorded test accuracy', async () => {
    const root = path.join(dir, 'runs', 'a');
    const server = http.createServer((request, response) => {
      const file = path.join(root, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
      readFile(file).then(
        (body) => response.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body),
        () => response.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const raw = await loadFashionMnist(openDataSource(data));
      const { test: testSplit } = prepareSplits(raw, { valSamples: 64 });
      for (const arm of ['mixup', 'baseline'] as ArmName[]) {
        const model = await tf.loadLayersModel(`${base}/models/${arm}/model.json`);
        // Accuracy counted here, with tfjs alone: predicted class = labelled class.
        const correct = tf.tidy(() => {
          const predicted = (model.predict(tf.tensor4d(testSplit.x, [testSplit.count, 28, 28, 1])) as tf.Tensor).argMax(1);
          return predicted.equal(tf.tensor2d(testSplit.y, [testSplit.count, 10]).argMax(1)).sum().arraySync() as number;
        });
        assert.equal(correct / testSplit.count, first.arms[arm]!.test.accuracy, arm);
        model.dispose();
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('both arms start from the initial weights the run saved, which the seed alone decides', async () => {
    const saved = await loadModel(new LocalStorage(path.join(dir, 'runs', 'a')), 'models/initial');
    const fresh = createModel(5);
    const other = createModel(6);
    saved.getWeights().forEach((w, i) => {
      assert.deepEqual(w.dataSync(), fresh.getWeights()[i]!.dataSync());
    });
    assert.notDeepEqual(saved.getWeights()[0]!.dataSync(), other.getWeights()[0]!.dataSync());
    [saved, fresh, other].forEach((m) => m.dispose());
  });

  test('at α = 0 the mixup arm trains exactly like the baseline (same weights, batches and dropout)', async () => {
    const { metrics } = await runExperiment(config({ runId: 'alpha0', alpha: '0', epochs: '1' }), { reporter: quietReporter() });
    assert.deepEqual(metrics!.arms.mixup!.test, metrics!.arms.baseline!.test);
  });

  test('the same seed and backend give the same numbers, bit for bit', async () => {
    const { metrics } = await runExperiment(config({ runId: 'b' }), { reporter: quietReporter() });
    assert.deepEqual(numbers(metrics!), numbers(first));
  });

  test('a run stopped mid-epoch (SIGTERM) resumes from its checkpoint to the same numbers', async () => {
    let steps = 0;
    const stopSignal = {
      get stopped() {
        return ++steps > 17; // epoch 2 of the mixup arm: 10 steps per epoch
      },
    };
    const events: { name: string; fields: Record<string, unknown> }[] = [];
    const stopped = await runExperiment(config({ runId: 'c', parallelArms: 'off' }), { reporter: quietReporter(events), stopSignal });
    assert.equal(stopped.status, 'interrupted');
    assert.equal(await new LocalStorage(path.join(dir, 'runs', 'c')).exists('manifest.json'), false);
    const resumed = await runExperiment(config({ runId: 'c', parallelArms: 'off' }), { reporter: quietReporter(events) });
    assert.equal(resumed.status, 'completed');
    const resume = events.find((e) => e.name === 'resume');
    assert.deepEqual(resume?.fields, { completedArms: [], arm: 'mixup', epoch: 1, step: 7 });
    assert.deepEqual(numbers(resumed.metrics!), numbers(first));
  });

  test('both arms at once (worker threads) give the numbers and weights of one after the other, bit for bit', async () => {
    const events: { name: string; fields: Record<string, unknown> }[] = [];
    const sequential = await runExperiment(config({ runId: 'seq', parallelArms: 'off' }), { reporter: quietReporter(events) });
    const parallel = await runExperiment(config({ runId: 'par', parallelArms: 'on' }), { reporter: quietReporter(events) });
    assert.deepEqual(events.filter((e) => e.name === 'start').map((e) => e.fields.parallelArms), [false, true]);
    assert.deepEqual(numbers(parallel.metrics!), numbers(sequential.metrics!));
    assert.deepEqual(numbers(parallel.metrics!), golden('unit-run'));
    for (const arm of ['mixup', 'baseline']) {
      const [a, b] = await Promise.all(['seq', 'par'].map((id) => readFile(path.join(dir, 'runs', id, 'models', arm, 'weights.bin'))));
      assert.ok(a!.equals(b!), `${arm} weights.bin`);
    }
  });

  test('stopped with both arms in flight, a run resumes both (in parallel or one after the other) to the same numbers', async () => {
    const whole = await runExperiment(config({ runId: 'p0', epochs: '3', parallelArms: 'on' }), { reporter: quietReporter() });
    for (const [id, resumeWith] of [['p1', 'on'], ['p2', 'off']] as const) {
      // Stop once both arms have made a step: both are then in flight (3 epochs each), however the threads are scheduled.
      const epochs = new Map<string, number>();
      const stopSignal = { get stopped() { return epochs.has('mixup') && epochs.has('baseline'); } };
      const events: { name: string; fields: Record<string, unknown> }[] = [];
      const reporter = { ...quietReporter(events), step: (p: { arm: string; epoch: number }) => void epochs.set(p.arm, p.epoch) };
      const stopped = await runExperiment(config({ runId: id, epochs: '3', parallelArms: 'on' }), { reporter, stopSignal });
      assert.equal(stopped.status, 'interrupted');
      assert.deepEqual([...(events.find((e) => e.name === 'interrupted')?.fields.arms as string[])].sort(), ['baseline', 'mixup'], 'both arms stopped');
      const resumed = await runExperiment(config({ runId: id, epochs: '3', parallelArms: resumeWith }), { reporter: quietReporter(events) });
      assert.equal(resumed.status, 'completed');
      const resumes = events.filter((e) => e.name === 'resume');
      assert.deepEqual(resumes.map((e) => e.fields.arm), ['mixup', 'baseline'], 'one resume line per arm in flight');
      assert.deepEqual(numbers(resumed.metrics!), numbers(whole.metrics!), `resumed with --parallel-arms ${resumeWith}`);
    }
  });

  test('a version 1 checkpoint (one current arm, written before arms trained at once) still resumes to the same numbers', async () => {
    let steps = 0;
    const stopSignal = { get stopped() { return ++steps > 17; } };
    await runExperiment(config({ runId: 'v1', parallelArms: 'off' }), { reporter: quietReporter(), stopSignal });
    const file = path.join(dir, 'runs', 'v1', 'checkpoints', 'state.json');
    const v2 = JSON.parse(await readFile(file, 'utf8')) as { inTraining: { mixup: { progress: unknown; tensors: unknown } } } & Record<string, unknown>;
    const { inTraining, ...rest } = v2;
    await writeFile(file, JSON.stringify({ ...rest, version: 1, current: inTraining.mixup.progress, tensors: inTraining.mixup.tensors }));
    const resumed = await runExperiment(config({ runId: 'v1' }), { reporter: quietReporter() });
    assert.deepEqual(numbers(resumed.metrics!), numbers(first));
  });

  test('one-arm runs (what a sweep with shared baselines starts) reproduce the both-arms run\'s arms bit for bit', async () => {
    // Each run makes its initial weights from the seed alone, and an arm's training depends on nothing
    // of the other arm; so the baseline of seed s is one run for every α, whatever α it is started with.
    const mixupOnly = await runExperiment(config({ runId: 'only-mixup', arms: 'mixup' }), { reporter: quietReporter() });
    const baselineOnly = await runExperiment(config({ runId: 'only-baseline', arms: 'baseline', alpha: '0' }), { reporter: quietReporter() });
    const both = numbers(first) as Record<string, unknown>;
    assert.deepEqual(numbers(mixupOnly.metrics!), { mixup: both.mixup });
    assert.deepEqual(numbers(baselineOnly.metrics!), { baseline: both.baseline });
    for (const [id, arm] of [['only-mixup', 'mixup'], ['only-baseline', 'baseline']]) {
      const [a, b] = await Promise.all([id, 'a'].map((run) => readFile(path.join(dir, 'runs', run!, 'models', arm!, 'weights.bin'))));
      assert.ok(a!.equals(b!), `${arm} weights.bin`);
    }
  });

  test('a completed run started again does nothing and says so', async () => {
    const events: { name: string; fields: Record<string, unknown> }[] = [];
    const again = await runExperiment(config({ runId: 'a' }), { reporter: quietReporter(events) });
    assert.equal(again.status, 'already-complete');
    assert.equal(events[0]?.name, 'already-complete');
  });

  test('a run id reused with other settings is refused', async () => {
    let steps = 0;
    const stopSignal = { get stopped() { return ++steps > 3; } };
    await runExperiment(config({ runId: 'd' }), { reporter: quietReporter(), stopSignal });
    await assert.rejects(runExperiment(config({ runId: 'd', alpha: '0.4' }), { reporter: quietReporter() }), (error: unknown) =>
      error instanceof JobError && /other settings \(alpha 0\.2 → 0\.4\)/.test(error.message));
  });

  test('training leaks no tensors: the count is the same after every epoch', async () => {
    const raw = await loadFashionMnist(openDataSource(data));
    const splits = prepareSplits(raw, { valSamples: 64 });
    const model = createModel(1);
    const optimizer = createOptimizer();
    const counts: number[] = [];
    await trainArm(model, optimizer, splits, { arm: 'mixup', augmentation: 'mixup', params: { alpha: 0.2 }, epochs: 4, batchSize: 32, seed: 1 }, freshProgress('mixup'), {
      onEpochEnd: async () => {
        counts.push(tf.memory().numTensors);
      },
    });
    assert.equal(new Set(counts).size, 1, `tensors after each epoch: ${counts.join(', ')}`);
    model.dispose();
    optimizer.dispose();
  });
});
