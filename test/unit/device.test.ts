import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { assertGpu, describeDevice, detectDevice, gpuRequired, parseCudaVersion, parseGpuQuery, type DeviceProbe } from '../../job/backend/device.js';
import type { SelectedBackend } from '../../job/backend/select.js';
import { JobError, UsageError } from '../../job/errors.js';
import { metricsSchema } from '../../job/shared/metrics.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

const GPU_BACKEND: SelectedBackend = { backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', versions: {}, failures: [] };
const WASM_BACKEND: SelectedBackend = {
  backend: 'wasm',
  package: '@tensorflow/tfjs-backend-wasm',
  versions: {},
  failures: ["@tensorflow/tfjs-node-gpu: Cannot find package '@tensorflow/tfjs-node-gpu'"],
};

/** nvidia-smi answering from recordings: the query's CSV and the header, or failing as recorded. */
function probe(options: { csv?: string; header?: string; fail?: string; oldDriver?: string; tensorflowGpu?: boolean | null; env?: NodeJS.ProcessEnv }): DeviceProbe {
  return {
    smi: async (args) => {
      if (options.fail) throw new Error(options.fail);
      if (args.length === 0) return options.header ?? '';
      if (args[0]!.includes('compute_cap')) {
        if (options.oldDriver) throw new Error('Field "compute_cap" is not a valid field to query.');
        return options.csv ?? '';
      }
      return options.oldDriver ?? '';
    },
    tensorflowGpu: () => options.tensorflowGpu ?? null,
    env: options.env ?? {},
  };
}

describe('device detection from recorded nvidia-smi output', () => {
  test('a g4dn T4 with the GPU binding on the GPU is kind gpu, with name, compute capability, driver and CUDA', async () => {
    const device = await detectDevice(GPU_BACKEND, probe({ csv: fixture('g4dn-t4.csv'), header: fixture('header-t4.txt'), tensorflowGpu: true, env: { CUDA_VERSION: '11.2.2' } }));
    assert.deepEqual(device, {
      kind: 'gpu',
      gpus: [{ name: 'Tesla T4', computeCapability: '7.5', driverVersion: '580.95.05' }],
      cudaDriverVersion: '13.0',
      cudaRuntimeVersion: '11.2.2',
      tensorflowGpu: true,
      notes: [],
    });
    assert.equal(describeDevice(device), 'gpu: 1 × Tesla T4 (compute 7.5), driver 580.95.05: CUDA driver 13.0 / image 11.2.2: TensorFlow on the GPU');
    assertGpu(device, GPU_BACKEND);
  });

  test('four A10Gs are counted', async () => {
    const device = await detectDevice(GPU_BACKEND, probe({ csv: fixture('g5-a10g-x4.csv'), tensorflowGpu: true }));
    assert.equal(device.gpus.length, 4);
    assert.equal(device.gpus[3]!.computeCapability, '8.6');
  });

  test('a driver before compute_cap existed is asked again without it', async () => {
    const device = await detectDevice(GPU_BACKEND, probe({ oldDriver: fixture('old-driver.csv'), tensorflowGpu: true }));
    assert.deepEqual(device.gpus, [{ name: 'Tesla T4', computeCapability: null, driverVersion: '470.182.03' }]);
  });

  test('libtensorflow loaded but placed nothing on a GPU: kind cpu, and a required GPU is refused naming why', async () => {
    const device = await detectDevice(GPU_BACKEND, probe({ csv: fixture('g4dn-t4.csv'), tensorflowGpu: false }));
    assert.equal(device.kind, 'cpu');
    assert.throws(() => assertGpu(device, GPU_BACKEND), (error: unknown) => {
      assert.ok(error instanceof JobError && error.exitCode === 1);
      assert.match(error.message, /^MIXUP_REQUIRE_GPU=1 but no usable GPU: libtensorflow loaded but placed no device on a GPU/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  test('no driver in the container: the refusal carries nvidia-smi\'s own sentence', async () => {
    const device = await detectDevice(GPU_BACKEND, probe({ fail: fixture('no-driver.txt').trim(), tensorflowGpu: false }));
    assert.deepEqual(device.gpus, []);
    assert.throws(() => assertGpu(device, GPU_BACKEND), /nvidia-smi: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  test('an old binding that cannot say falls back to what the driver lists', async () => {
    assert.equal((await detectDevice(GPU_BACKEND, probe({ csv: fixture('g4dn-t4.csv'), tensorflowGpu: null }))).kind, 'gpu');
    assert.equal((await detectDevice(GPU_BACKEND, probe({ csv: '', tensorflowGpu: null }))).kind, 'cpu');
  });

  test("tfjs-node (the CPU build) is never a GPU, whatever the driver shows", async () => {
    const cpuBuild: SelectedBackend = { ...GPU_BACKEND, package: '@tensorflow/tfjs-node' };
    const device = await detectDevice(cpuBuild, probe({ csv: fixture('g4dn-t4.csv'), tensorflowGpu: true }));
    assert.equal(device.kind, 'cpu');
    assert.match(device.notes.join(), /CPU build/);
  });

  test('wasm is kind wasm; a required GPU is refused with the native packages\' failures', async () => {
    const device = await detectDevice(WASM_BACKEND, probe({ fail: 'not found (no NVIDIA driver mounted into this container)' }));
    assert.equal(device.kind, 'wasm');
    assert.equal(device.tensorflowGpu, null);
    assert.throws(() => assertGpu(device, WASM_BACKEND), /no GPU backend started, so the job would train on wasm \(@tensorflow\/tfjs-node-gpu: Cannot find package.*\); nvidia-smi: not found/);
  });

  test('parsers: N/A fields are null, the CUDA version comes from the header', () => {
    assert.deepEqual(parseGpuQuery('Tesla T4, [N/A], 580.95.05\n\n', true), [{ name: 'Tesla T4', computeCapability: null, driverVersion: '580.95.05' }]);
    assert.equal(parseCudaVersion(fixture('header-t4.txt')), '13.0');
    assert.equal(parseCudaVersion('no header'), null);
  });

  test('MIXUP_REQUIRE_GPU accepts 1/true/0/false/unset and refuses anything else', () => {
    assert.equal(gpuRequired({ MIXUP_REQUIRE_GPU: '1' }), true);
    assert.equal(gpuRequired({ MIXUP_REQUIRE_GPU: 'TRUE' }), true);
    assert.equal(gpuRequired({ MIXUP_REQUIRE_GPU: '0' }), false);
    assert.equal(gpuRequired({}), false);
    assert.throws(() => gpuRequired({ MIXUP_REQUIRE_GPU: 'yes' }), UsageError);
  });
});

test('metrics.json without a device field (written before detection) still parses', () => {
  const old = {
    version: 1, runId: 'r', backend: 'wasm', versions: {}, startedAt: '', finishedAt: '', wallSeconds: 1, arms: {},
    config: { alpha: 0.2, epochs: 1, batchSize: 64, seed: 1, valSamples: 10, trainLimit: null, data: 'd', out: 'o', runId: 'r', backend: 'auto', arms: 'both' },
    dataset: { location: 'd', train: 1, val: 1, test: 1, standard: false, sha256sums: false, loadSeconds: 0 },
  };
  assert.equal(metricsSchema.safeParse(old).success, true);
  assert.equal(metricsSchema.safeParse({ ...old, device: { kind: 'tpu' } }).success, false);
});

test('for real, on this machine (no GPU): MIXUP_REQUIRE_GPU=1 exits 1 at once with one line, leaving no file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixup-require-gpu-'));
  const out = path.join(dir, 'runs');
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.resolve('job/cli.ts'), 'run', '--data', path.join(dir, 'nowhere'), '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, MIXUP_REQUIRE_GPU: '1' },
  });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /^mixup: MIXUP_REQUIRE_GPU=1 but no usable GPU: no GPU backend started, so the job would train on (wasm|cpu) \(@tensorflow\/tfjs-node-gpu: .*\); nvidia-smi: not found/);
  assert.match(result.stdout, /"event":"device","kind":"(wasm|cpu)"/, 'the device is logged before the refusal');
  // The run's lease is taken and released around the refusal; no file of the run is left.
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  assert.deepEqual(files.map((f) => f.name), [], 'nothing of the run is written');
});
