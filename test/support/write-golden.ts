/**
 * Regenerates test/golden/*.json: `node --import tsx test/support/write-golden.ts`. Each entry is
 * the configuration of one test's run, trained here in-process on wasm, uninterrupted. Only for a
 * change that is meant to alter the numbers (say which and why in the commit); never to make a test pass.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../job/backend/select.js';
import { runExperiment } from '../../job/commands/run.js';
import { resolveRunConfig } from '../../job/config.js';
import { writeFakeFashionMnist } from './fake-dataset.js';
import { runNumbers } from './golden.js';

/** name → the fake dataset and the run's settings (flags, or MIXUP_* variables as Batch passes them). */
const RUNS: Record<string, { dataset: { train: number; test: number; seed?: number }; flags?: Record<string, string>; env?: Record<string, string> }> = {
  // test/unit/run.test.ts
  'unit-run': { dataset: { train: 384, test: 128, seed: 3 }, flags: { epochs: '2', batchSize: '32', valSamples: '64', seed: '5' } },
  // test/integration/sigterm.test.ts
  sigterm: { dataset: { train: 3264, test: 64, seed: 4 }, flags: { epochs: '3', batchSize: '16', valSamples: '64' } },
  // test/e2e/docker.test.ts
  'docker-complete': { dataset: { train: 2400, test: 300 }, env: { MIXUP_VAL_SAMPLES: '200', MIXUP_BATCH_SIZE: '32', MIXUP_EPOCHS: '2', MIXUP_TRAIN_LIMIT: '640' } },
  'docker-resume': { dataset: { train: 2400, test: 300 }, env: { MIXUP_VAL_SAMPLES: '200', MIXUP_BATCH_SIZE: '32', MIXUP_EPOCHS: '3', MIXUP_TRAIN_LIMIT: '2000' } },
};

const only = process.argv.slice(2);
await initBackend('wasm');
for (const [name, spec] of Object.entries(RUNS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const dir = await mkdtemp(path.join(os.tmpdir(), `golden-${name}-`));
  try {
    const data = path.join(dir, 'data');
    await writeFakeFashionMnist(data, spec.dataset);
    const config = resolveRunConfig({ ...spec.flags, backend: 'wasm', data, out: path.join(dir, 'runs'), runId: name }, spec.env ?? {});
    const { metrics } = await runExperiment(config, { reporter: { event() {}, step() {}, epoch() {}, close() {} } });
    const file = new URL(`../golden/${name}.json`, import.meta.url);
    await writeFile(file, `${JSON.stringify(runNumbers(metrics!), null, 2)}\n`);
    console.log(`wrote ${file.pathname}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
