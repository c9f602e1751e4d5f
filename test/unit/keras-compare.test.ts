/** reference/keras/compare.ts: the Welch test, and reading both sides' results. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { readKeras, readOurs, report, welch } from '../../reference/keras/compare.js';

describe('Welch test', () => {
  test("matches R's t.test(var.equal = FALSE)", () => {
    // t.test(c(1,2,3,4,5), c(2,4,6,8,10)): t = -1.8974, df = 5.8824, p-value = 0.1075, CI -6.8870 to 0.8870
    // (the p-value checked by integrating the t density numerically).
    const w = welch([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]);
    assert.ok(Math.abs(w.t + 1.8974) < 1e-4, `t ${w.t}`);
    assert.ok(Math.abs(w.df - 5.8824) < 1e-4, `df ${w.df}`);
    assert.ok(Math.abs(w.p - 0.10753) < 1e-5, `p ${w.p}`);
    assert.ok(Math.abs(w.low + 6.887) < 1e-3 && Math.abs(w.high - 0.887) < 1e-3, `${w.low} to ${w.high}`);
  });
});

function metrics(seed: number, alpha: number, arms: Record<string, number>): string {
  const arm = (accuracy: number) => ({ history: [], test: { loss: 0.4, accuracy }, imagesPerSecond: 1 });
  return JSON.stringify({
    version: 1,
    runId: `r${seed}`,
    config: { alpha, epochs: 10, batchSize: 64, seed, valSamples: 2000, trainLimit: null, data: 'd', out: 'o', runId: `r${seed}`, backend: 'wasm', arms: 'both', parallelArms: 'auto' },
    backend: 'wasm',
    versions: {},
    dataset: { location: 'd', train: 58000, val: 2000, test: 10000, standard: true, sha256sums: false, loadSeconds: 1 },
    startedAt: '2026-12-05T00:00:00Z',
    finishedAt: '2026-12-05T00:01:00Z',
    wallSeconds: 60,
    arms: Object.fromEntries(Object.entries(arms).map(([name, accuracy]) => [name, arm(accuracy)])),
  });
}

describe('reading the two sides', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'keras-compare-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("a shared-baseline sweep's runs (baselines at α = 0) and Keras's lines pair up by seed", async () => {
    const runs = path.join(dir, 'runs');
    for (const seed of [1, 2, 3]) {
      await mkdir(path.join(runs, `baseline_seed-${seed}`), { recursive: true });
      await mkdir(path.join(runs, `alpha-0.2_seed-${seed}`), { recursive: true });
      await writeFile(path.join(runs, `baseline_seed-${seed}`, 'metrics.json'), metrics(seed, 0, { baseline: 0.86 + seed / 1000 }));
      await writeFile(path.join(runs, `alpha-0.2_seed-${seed}`, 'metrics.json'), metrics(seed, 0.2, { mixup: 0.865 + seed / 1000 }));
    }
    const keras = path.join(dir, 'keras.jsonl');
    const line = (seed: number, m: number, b: number) => JSON.stringify({ seed, epochs: 10, alpha: 0.2, arms: { mixup: { test: { accuracy: m } }, baseline: { test: { accuracy: b } } } });
    await writeFile(keras, `${line(1, 0.87, 0.868)}\n${line(2, 0.866, 0.871)}\n${line(3, 0.869, 0.869)}\n`);
    const ours = await readOurs(runs);
    assert.deepEqual([...ours.accuracies.baseline.entries()].sort(), [[1, 0.861], [2, 0.862], [3, 0.863]]);
    assert.equal(ours.alpha, 0.2);
    const { markdown } = report(await readKeras(keras), ours);
    assert.match(markdown, /\| baseline \| 3: 86\.93 ± 0\.15 \| 3: 86\.20 ± 0\.10 \| −0\.73/);
    assert.match(markdown, /\| job \| 3 \| \+0\.50 ± 0\.00 \|/);
  });

  test('a seed twice, or another epoch count, is refused naming the file', async () => {
    const keras = path.join(dir, 'twice.jsonl');
    const line = JSON.stringify({ seed: 1, epochs: 10, alpha: 0.2, arms: { baseline: { test: { accuracy: 0.8 } } } });
    await writeFile(keras, `${line}\n${line}\n`);
    await assert.rejects(readKeras(keras), /twice\.jsonl line 2: seed 1 of the baseline arm appears twice/);
    const other = path.join(dir, 'epochs.jsonl');
    await writeFile(other, `${line}\n${line.replace('"epochs":10', '"epochs":2').replace('"seed":1', '"seed":2')}\n`);
    await assert.rejects(readKeras(other), /epochs\.jsonl line 2: 2 epochs, the others 10/);
  });
});
