/**
 * Tiny α and non-finite losses: λ is defined for every accepted α, and a run whose
 * loss turns NaN stops with exit 1 naming arm, epoch and step. The guard runs in the step hook, which
 * precedes any checkpoint write; the model's clipped cross-entropy keeps the loss finite even for NaN
 * weights, so the one way a real run reaches it is NaN labels, which the tiny-α λ was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { RunConfig } from '../../job/shared/run-settings.js';
import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { JobError } from '../../job/errors.js';
import { assertFiniteLoss } from '../../job/finite-loss.js';
import { sampleLambda } from '../../job/augmentations/mixup.js';
import type { Reporter } from '../../job/progress.js';
import { rngFor } from '../../job/random.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';

describe('λ for tiny α', () => {
  for (const alpha of [1e-320, 5e-324, 2e-308, 1e-300]) {
    test(`α = ${alpha}: every λ is 0 or 1 (the α → 0 limit), both occur, none is NaN`, () => {
      const lam = sampleLambda(alpha, 2000, rngFor(7, 'lambda', 1, 0));
      assert.ok(lam.every((l) => l === 0 || l === 1), `values: ${[...new Set(lam)].slice(0, 5).join(', ')}`);
      const ones = lam.filter((l) => l === 1).length;
      assert.ok(ones > 800 && ones < 1200, `${ones} ones of 2000`);
    });
  }

  test('for tiny α, λ is 1 exactly where the first Gamma draw is the larger one, as in the limit', () => {
    // g = exp(base + log(u) / α): as α → 0 the log(u) / α term decides, so g1 > g2 where u1 > u2.
    for (const alpha of [1e-320, 2e-308]) {
      const lam = sampleLambda(alpha, 500, rngFor(11, 'lambda', 2, 3));
      const parts = rngFor(11, 'lambda', 2, 3);
      lam.forEach((l, i) => {
        const first = parts.logGammaParts(alpha);
        const second = parts.logGammaParts(alpha);
        assert.equal(l, first.logU > second.logU ? 1 : 0, `α = ${alpha}, sample ${i}`);
      });
    }
  });

  test('ordinary α draws exactly what it drew before the change (recorded values)', () => {
    const recorded: Record<string, number[]> = {
      '0.2': [0.008548597805202007, 0.17712458968162537, 0.9576976895332336, 0.2893071174621582, 0.09717119485139847, 0.9999993443489075],
      '0.5': [0.050465550273656845, 0.24847663938999176, 0.869013249874115, 0.44462141394615173, 0.18341460824012756, 0.9927245378494263],
      '1': [0.811699390411377, 0.054420553147792816, 0.35636770725250244, 0.7330421805381775, 0.2321273237466812, 0.44062894582748413],
      '2.5': [0.676463782787323, 0.20790508389472961, 0.4204525351524353, 0.6156801581382751, 0.3417801856994629, 0.46660831570625305],
    };
    for (const [alpha, values] of Object.entries(recorded)) {
      assert.deepEqual(Array.from(sampleLambda(Number(alpha), 6, rngFor(42, 'lambda', 1, 0))), values, `α = ${alpha}`);
    }
  });
});

describe('a run whose loss turns non-finite', () => {
  let dir: string;
  let data: string;
  const quiet: Reporter = { event() {}, step() {}, epoch() {}, close() {} };
  const config = (overrides: Partial<Record<string, string>> = {}): RunConfig =>
    resolveRunConfig({ epochs: '3', batchSize: '64', valSamples: '64', seed: '5', backend: 'wasm', data, out: path.join(dir, 'runs'), ...overrides }, {});
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-nan-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 3 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('tiny α trains to the end with finite numbers', async () => {
    const result = await runExperiment(config({ runId: 'tiny', alpha: '1e-320', epochs: '1', arms: 'mixup' }), { reporter: quiet });
    assert.equal(result.status, 'completed');
    assert.ok(Number.isFinite(result.metrics!.arms.mixup!.history[0]!.loss));
  });

  test('the step guard stops on NaN or ±∞ with one line naming arm, epoch and step', () => {
    const at = (lossSum: number) => ({ arm: 'mixup' as const, epoch: 2, step: 7, steps: 10, partial: { steps: 7, lossSum, correct: 0, seen: 448, seconds: 1 } });
    assertFiniteLoss(at(12.5));
    assert.throws(() => assertFiniteLoss(at(Number.NaN)), (error: unknown) =>
      error instanceof JobError && error.exitCode === 1 &&
      error.message === 'mixup arm: the training loss became NaN at epoch 2, step 7; stopped without results, the last checkpoint is kept');
    assert.throws(() => assertFiniteLoss(at(Number.POSITIVE_INFINITY)), /became Infinity at epoch 2, step 7/);
  });
});
