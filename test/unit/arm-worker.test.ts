import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { TENSORFLOW_DIR_ENV } from '../../job/backend/tensorflow-binding.js';
import { ArmWorker, startArmThread } from '../../job/commands/arm-thread.js';
import { JobError } from '../../job/errors.js';
import { freshProgress } from '../../job/train.js';

const settings = { arm: 'baseline', augmentation: 'none', params: {}, epochs: 1, batchSize: 8, seed: 1 } as const;
const noData = {
  train: { pixels: new Uint8Array(0), labels: new Uint8Array(0), count: 0 },
  val: { x: new Float32Array(0), y: new Float32Array(0), count: 0 },
  test: { x: new Float32Array(0), y: new Float32Array(0), count: 0 },
};
const noEvents = { step: () => {}, epochEnd: async () => {} };

test('a worker started early whose backend fails before it has an arm reports that failure with the arm, not a hang', { timeout: 30_000 }, async () => {
  // No native TensorFlow where the worker looks (an empty folder): its backend fails at once, long
  // before the arm is handed over. A worker takes a copy of the environment when it starts.
  const saved = process.env[TENSORFLOW_DIR_ENV];
  process.env[TENSORFLOW_DIR_ENV] = mkdtempSync(path.join(os.tmpdir(), 'mixup-no-binding-'));
  const worker = new ArmWorker('tensorflow');
  if (saved === undefined) delete process.env[TENSORFLOW_DIR_ENV];
  else process.env[TENSORFLOW_DIR_ENV] = saved;
  await sleep(4000);
  const thread = startArmThread({ settings, start: freshProgress('baseline'), resume: null }, worker, [], noData, noEvents, () => {});
  await assert.rejects(thread.done, (error: unknown) => error instanceof JobError && /tensorflow|tfjs-node/i.test(error.message));
  await worker.dispose();
});

test('disposing an early worker ends it, and disposing it twice is harmless', async () => {
  const worker = new ArmWorker('wasm');
  assert.equal(typeof (await worker.dispose()), 'number');
  await worker.dispose();
});
