/** `mixup run --method cutmix` and `mixup sweep --methods mixup,cutmix` end to end, on small generated data. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadImage, createCanvas } from '@napi-rs/canvas';

import { initBackend } from '../../../job/backend/select.js';
import { runExperiment } from '../../../job/commands/run.js';
import { resolveRunConfig } from '../../../job/config.js';
import type { Reporter } from '../../../job/progress.js';
import { planSweep } from '../../../scripts/sweep/plan.js';
import { describeSweep } from '../../../scripts/commands/sweep.js';
import { writeFakeFashionMnist } from '../../support/fake-dataset.js';
import { runNumbers } from '../../support/golden.js';

const quiet: Reporter = { event() {}, step() {}, epoch() {}, close() {} };

describe('a CutMix run', () => {
  let dir: string;
  let data: string;
  const config = (runId: string, method: string) =>
    resolveRunConfig({ method, alpha: '1', epochs: '1', batchSize: '32', valSamples: '64', trainLimit: '128', seed: '5', backend: 'wasm', data, out: path.join(dir, 'runs'), runId }, {});

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-cutmix-run-'));
    data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, { train: 256, test: 64, seed: 4 });
    await initBackend('wasm');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('trains a cutmix arm beside a baseline that is the MixUp run\'s baseline, bit for bit', async () => {
    const cut = (await runExperiment(config('cut', 'cutmix'), { reporter: quiet })).metrics!;
    const mix = (await runExperiment(config('mix', 'mixup'), { reporter: quiet })).metrics!;
    assert.equal(cut.version, 2);
    assert.equal(cut.config.method, 'cutmix');
    assert.deepEqual(Object.keys(cut.arms).sort(), ['baseline', 'cutmix']);
    const numbers = (m: typeof cut) => runNumbers(m) as Record<string, unknown>;
    // The baseline depends on neither the method nor α: the same weights, batches and dropout.
    assert.deepEqual(numbers(cut).baseline, numbers(mix).baseline);
    assert.notDeepEqual(numbers(cut).cutmix, numbers(mix).mixup);
    const csv = await readFile(path.join(dir, 'runs', 'cut', 'history.csv'), 'utf8');
    assert.match(csv, /^arm,epoch,/);
    assert.match(csv, /\ncutmix,1,.*\nbaseline,1,/);
  });

  test("its sample grid is CutMix's, with the boxes outlined", async () => {
    const image = await loadImage(await readFile(path.join(dir, 'runs', 'cut', 'samples.png')));
    const canvas = createCanvas(image.width, image.height);
    canvas.getContext('2d').drawImage(image, 0, 0);
    const pixels = canvas.getContext('2d').getImageData(0, 0, image.width, image.height).data;
    let red = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! > 200 && pixels[i + 1]! < 110 && pixels[i + 2]! < 90) red++;
    assert.ok(red > 500, `box outlines drawn: ${red} red pixels`);
  });
});

describe('a sweep of MixUp and CutMix', () => {
  test('plans one baseline per seed and an arm per (method, α > 0, seed), with the methods for the children', () => {
    const plan = planSweep({ methods: ['mixup', 'cutmix'], alphas: [0.2, 1], seeds: [1, 2, 3, 4, 5], executor: 'local', concurrency: 1 }, new Date('2026-12-05T00:00:00Z'));
    assert.equal(plan.runs.length, 5 + 2 * 2 * 5);
    assert.deepEqual(plan.runs.slice(0, 6).map((run) => run.runId), ['baseline_seed-1', 'baseline_seed-2', 'baseline_seed-3', 'baseline_seed-4', 'baseline_seed-5', 'mixup_alpha-0.2_seed-1']);
    assert.equal(plan.runs[15]!.runId, 'cutmix_alpha-0.2_seed-1');
    assert.equal(plan.runs.at(-1)!.runId, 'cutmix_alpha-1_seed-5');
  });

  test('--dry-run says what it trains', () => {
    const plan = planSweep({ methods: ['mixup', 'cutmix'], alphas: [0, 0.2, 1], seeds: [1, 2], executor: 'local', concurrency: 1 }, new Date('2026-12-05T00:00:00Z'));
    const record = {
      version: 3 as const, sweepId: plan.sweepId, createdAt: plan.createdAt, executor: 'local' as const,
      grid: { methods: [...plan.methods], alphas: [...plan.alphas], seeds: [...plan.seeds], size: plan.runs.length, order: '' },
      runs: plan.runs, settings: {}, environment: {}, results: '.', runsUri: './runs', data: null, batch: null, local: { concurrency: 1 },
    };
    const text = describeSweep({ record, sweepUri: './sweep.json', dryRun: true, final: null, failed: [] });
    assert.match(text, /methods = mixup, cutmix × α = 0, 0\.2, 1 × seeds = 1, 2 → 10 arm trainings \(2 baselines, one per seed and shared by every method and α, \+ 8 mixup\/cutmix arms; α = 0 reads the baseline\) instead of 24/);
  });

  test('a method the registry does not have is refused before anything is written', () => {
    assert.throws(
      () => planSweep({ methods: ['mixup', 'cutmx'], alphas: [0.2], seeds: [1], executor: 'local' }, new Date()),
      /--methods: 'cutmx' must be one of cutmix, mixup/,
    );
  });
});
