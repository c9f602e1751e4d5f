/**
 * [slow][docker] The job images, built by a real Docker engine and run against the local S3 the way
 * AWS Batch runs them. The CPU image (the Dockerfile's `cpu` stage, the stack's Fargate queue):
 * configuration by environment variables only, the native convolution in use, results in S3, a bad
 * setting rejected in one line, and a container killed mid-run resumed by a second one with the same
 * job id. The GPU image (the last stage, built from registries only) without a GPU: every CUDA library
 * TensorFlow opens resolves, the binding loads on TensorFlow's CPU kernels, the job definition's
 * MIXUP_REQUIRE_GPU=1 refuses in one line, and with it off a run trains on TensorFlow and writes every
 * artifact. Takes minutes (the first GPU image build on a machine downloads 2.1 GB of wheels and takes
 * longer); MIXUP_SKIP_DOCKER=1 skips it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import { CPU_IMAGE_TARGET } from '../../job/shared/stack.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import type { Storage } from '../../job/storage/storage.js';
import { seedData } from '../../scripts/seed-data/seed-data.js';
import {
  buildImage,
  GPU_IMAGE_TARGET,
  jobEvents,
  removeContainers,
  runContainer,
  startContainer,
  killContainer,
  type ContainerResult,
} from '../support/docker.js';
import { checkpointWhole } from '../support/checkpoint-state.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { golden, runNumbers } from '../support/golden.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const SKIP = process.env.MIXUP_SKIP_DOCKER === '1' ? 'MIXUP_SKIP_DOCKER=1: Docker end-to-end test not run' : false;
const IMAGE = process.env.MIXUP_E2E_IMAGE ?? 'mixup-batch:e2e-cpu';
const GPU_IMAGE = process.env.MIXUP_E2E_GPU_IMAGE ?? 'mixup-batch:e2e-gpu';
const BUCKET = 'mixup-e2e';
const DATA = `s3://${BUCKET}/fashion-mnist`;
const OUT = `s3://${BUCKET}/runs`;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const POLL_MS = 100;
/**
 * What TensorFlow 2.9.1 (built with CUDA 11.2 and cuDNN 8.1) opens by soname when it starts on a GPU,
 * and cuDNN 8's sub-libraries, which libcudnn.so.8 opens itself. libcuda.so.1 is the driver's,
 * mounted by the NVIDIA container runtime on a GPU host.
 */
const CUDA_LIBRARIES = [
  'libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11',
  'libcusparse.so.11', 'libcudnn.so.8', 'libcudnn_ops_infer.so.8', 'libcudnn_ops_train.so.8', 'libcudnn_cnn_infer.so.8',
  'libcudnn_cnn_train.so.8', 'libcudnn_adv_infer.so.8', 'libcudnn_adv_train.so.8',
];
/** Where the native convolution runs under `auto` (AVX2 or wider), the CPU image uses it. */
const HOST_HAS_AVX2 = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

// Small enough for seconds of wasm training, large enough that a killed run has epochs left to resume.
const DATASET = { train: 2400, test: 300 };
// No MIXUP_BACKEND: the CPU image must choose wasm by itself (`auto`), as it does on Fargate.
const BASE_SETTINGS = { MIXUP_VAL_SAMPLES: '200', MIXUP_BATCH_SIZE: '32' };

describe('[slow][docker] the job images on a real Docker engine against the local S3', { skip: SKIP, timeout: 45 * 60_000 }, () => {
  let s3: S3Server;
  let workDir: string;
  const savedEnv = { ...process.env };
  const containers: string[] = [];

  /** Only what a Batch job definition would set: MIXUP_* settings, the job id, S3 endpoint and credentials. */
  function containerEnv(jobId: string, settings: Record<string, string>): Record<string, string> {
    return { ...s3.env, AWS_BATCH_JOB_ID: jobId, MIXUP_DATA: DATA, MIXUP_OUT: OUT, ...BASE_SETTINGS, ...settings };
  }

  function containerName(label: string): string {
    const name = `mixup-e2e-${process.pid}-${label}`;
    containers.push(name);
    return name;
  }

  function runStorage(runId: string): Storage {
    return openStorage(`${OUT}/${runId}`);
  }

  async function assertCompleteRun(runId: string, epochs: number, backend = 'wasm'): Promise<Metrics> {
    const run = runStorage(runId);
    const manifest = await readManifest(run);
    assert.ok(manifest, `${run.uri}/manifest.json is missing`);
    assert.equal(manifest.runId, runId);
    assert.deepEqual(await verifyManifest(run, manifest), []);
    const keys = manifest.objects.map((object) => object.key);
    for (const key of ['metrics.json', 'history.csv', 'samples.png', 'curves.png']) assert.ok(keys.includes(key), `manifest lacks ${key}: ${keys.join(', ')}`);
    for (const image of ['samples.png', 'curves.png']) {
      assert.deepEqual((await run.read(image)).subarray(0, PNG_SIGNATURE.length), PNG_SIGNATURE, `${image} is not a PNG`);
    }
    const metrics = JSON.parse((await run.read('metrics.json')).toString('utf8')) as Metrics;
    assert.equal(metrics.runId, runId);
    assert.equal(metrics.backend, backend);
    assert.equal(metrics.config.epochs, epochs);
    for (const arm of ['mixup', 'baseline'] as const) {
      const armMetrics = metrics.arms[arm];
      assert.ok(armMetrics, `metrics.json has no ${arm} arm`);
      assert.deepEqual(armMetrics.history.map((record) => record.epoch), Array.from({ length: epochs }, (_, i) => i + 1));
    }
    return metrics;
  }

  function describeRun(result: ContainerResult): string {
    return `exit ${result.code} after ${result.seconds.toFixed(1)}s\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`;
  }

  before(async () => {
    s3 = await startS3Server();
    // The test process reads S3 through the job's own storage code, with the same variables the container gets.
    Object.assign(process.env, s3.env);
    await s3.createBucket(BUCKET);
    workDir = await mkdtemp(path.join(os.tmpdir(), 'mixup-e2e-'));
    await writeFakeFashionMnist(path.join(workDir, 'data'), DATASET);
    await seedData({ from: path.join(workDir, 'data'), to: DATA });
    const build = await buildImage(IMAGE, path.join(workDir, 'docker-build.log'), CPU_IMAGE_TARGET);
    console.log(`# image ${IMAGE} (target ${CPU_IMAGE_TARGET}) built in ${build.seconds.toFixed(0)}s, ${imageMegabytes(IMAGE)} MB`);
  });

  after(async () => {
    removeContainers(containers);
    await s3?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  test('a container configured only by environment variables writes a complete run to S3', async () => {
    const runId = 'e2e-complete';
    const result = await runContainer(IMAGE, containerName('complete'), containerEnv(runId, { MIXUP_EPOCHS: '2', MIXUP_TRAIN_LIMIT: '640' }));
    assert.equal(result.code, 0, describeRun(result));
    assert.ok(jobEvents(result.stdout).some((event) => event.event === 'done'), describeRun(result));
    const metrics = await assertCompleteRun(runId, 2);
    // The image carries the native convolution, and `auto` uses it where the CPU has AVX2 or wider.
    if (HOST_HAS_AVX2) assert.match(String(metrics.versions['mixup-native-conv']), /^avx(2|512f)$/, JSON.stringify(metrics.versions));
    else assert.equal(metrics.versions['mixup-native-conv'], null);
    // The container's numbers are the in-process wasm run's, bit for bit (with or without the native convolution).
    assert.deepEqual(runNumbers(metrics), golden('docker-complete'));
    console.log(`# complete run: ${result.seconds.toFixed(1)}s in the container`);
  });

  test('a bad setting exits 2 with a one-line reason and writes nothing', async () => {
    const runId = 'e2e-bad-alpha';
    const result = await runContainer(IMAGE, containerName('bad'), containerEnv(runId, { MIXUP_ALPHA: '-1' }));
    assert.equal(result.code, 2, describeRun(result));
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, describeRun(result));
    assert.match(lines[0]!, /MIXUP_ALPHA/);
    assert.match(lines[0]!, /-1/);
    assert.deepEqual(await runStorage(runId).list(), []);
  });

  test('the CPU image holds no native TensorFlow nor the Batch/SSM SDKs, and runs as a non-root user', () => {
    // Resolved from /app, where the job's own imports resolve from (tfjs itself must be found there).
    const probe = spawnSync('docker', [
      'run', '--rm', '--network', 'host', '--entrypoint', 'node', IMAGE, '-e',
      "for (const m of ['@tensorflow/tfjs', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@aws-sdk/client-batch']) { try { require.resolve(m, { paths: ['/app'] }); console.log('has ' + m); } catch {} } console.log('tensorflow/ ' + require('fs').existsSync('/app/tensorflow')); console.log('uid ' + process.getuid());",
    ], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), 'has @tensorflow/tfjs\ntensorflow/ false\nuid 10001');
  });

  test('a container killed after its first checkpoint resumes under the same job id and completes', async () => {
    const runId = 'e2e-resume';
    const epochs = 3;
    const env = containerEnv(runId, { MIXUP_EPOCHS: String(epochs), MIXUP_TRAIN_LIMIT: '2000' });
    const run = runStorage(runId);

    const first = startContainer(IMAGE, containerName('killed'), env);
    let exited = false;
    void first.done.then(() => (exited = true));
    while (!exited && !(await checkpointWhole(run))) await sleep(POLL_MS);
    if (exited) assert.fail(`the run ended before its first checkpoint: ${describeRun(await first.done)}`);
    killContainer(first.name);
    const killed = await first.done;
    assert.equal(killed.code, 137, describeRun(killed));
    assert.equal(await readManifest(run), null, 'the killed run already had a manifest: it was not killed mid-run');

    const second = await runContainer(IMAGE, containerName('resumed'), env);
    assert.equal(second.code, 0, describeRun(second));
    const resumed = jobEvents(second.stdout).find((event) => event.event === 'resume');
    assert.ok(resumed, `the second container did not log a resume event:\n${describeRun(second)}`);
    // Resuming means the epochs the checkpoint holds are not trained again.
    const retrained = jobEvents(second.stdout).filter(
      (event) => event.event === 'epoch' && event.arm === resumed.arm && Number(event.epoch) <= Number(resumed.epoch),
    );
    assert.ok(Number(resumed.epoch) >= 1, `resumed from ${JSON.stringify(resumed)}`);
    assert.deepEqual(retrained, [], 'the resumed container trained checkpointed epochs again');
    const metrics = await assertCompleteRun(runId, epochs);
    // Killed and resumed, it ends with an uninterrupted run's numbers.
    assert.deepEqual(runNumbers(metrics), golden('docker-resume'));
    console.log(`# killed after ${killed.seconds.toFixed(1)}s; resumed ${JSON.stringify(resumed)} and completed in ${second.seconds.toFixed(1)}s`);
  });

  describe('the GPU image, built from registries only, on a machine without a GPU', () => {
    before(async () => {
      const build = await buildImage(GPU_IMAGE, path.join(workDir, 'docker-build-gpu.log'), GPU_IMAGE_TARGET);
      console.log(`# image ${GPU_IMAGE} (target ${GPU_IMAGE_TARGET}) built in ${build.seconds.toFixed(0)}s, ${imageMegabytes(GPU_IMAGE)} MB`);
    });

    /** `node --input-type=module -e CODE` in the GPU image, as its user, from /app. */
    function nodeInGpuImage(code: string) {
      return spawnSync('docker', ['run', '--rm', '--network', 'host', '-w', '/app', '--entrypoint', 'node', GPU_IMAGE, '--input-type=module', '-e', code], { encoding: 'utf8' });
    }

    test('its entry loads, and it sets what the NVIDIA container runtime reads', () => {
      const version = spawnSync('docker', ['run', '--rm', '--network', 'host', GPU_IMAGE, '--version'], { encoding: 'utf8' });
      assert.equal(version.status, 0, version.stderr);
      const inspect = spawnSync('docker', ['image', 'inspect', '--format', '{{json .Config.Env}}', GPU_IMAGE], { encoding: 'utf8' });
      const env = JSON.parse(inspect.stdout) as string[];
      for (const expected of ['NVIDIA_VISIBLE_DEVICES=all', 'NVIDIA_DRIVER_CAPABILITIES=compute,utility', 'TF_FORCE_GPU_ALLOW_GROWTH=true']) {
        assert.ok(env.includes(expected), `${expected} in ${env.join(' ')}`);
      }
    });

    test('every CUDA library TensorFlow 2.9.1 opens at start resolves by its soname, with everything it needs', () => {
      // dlopen by bare soname, as TensorFlow does: the loader's search path, then each library's own
      // dependencies. A library that loads but is no Node addon ends in "did not self-register".
      const probe = nodeInGpuImage(`
        const result = {};
        for (const lib of ${JSON.stringify(CUDA_LIBRARIES)}) {
          try { process.dlopen({ exports: {} }, lib); result[lib] = 'loaded'; }
          catch (error) { result[lib] = /did not self-register/.test(error.message) ? 'loaded' : error.message; }
        }
        console.log(JSON.stringify(result));`);
      assert.equal(probe.status, 0, probe.stderr);
      const result = JSON.parse(probe.stdout) as Record<string, string>;
      assert.deepEqual(result, Object.fromEntries(CUDA_LIBRARIES.map((lib) => [lib, 'loaded'])));
    });

    test('its binding loads: tfjs-node-gpu on TensorFlow 2.9.1, which reports no GPU here and runs its CPU kernels', () => {
      const probe = nodeInGpuImage(`
        const { initBackend } = await import('/app/dist/job/backend/select.js');
        const tf = await import('@tensorflow/tfjs');
        const selected = await initBackend('tensorflow');
        const sum = tf.tensor1d([1, 2, 3]).sum().dataSync()[0];
        console.log(JSON.stringify({ ...selected, gpu: tf.backend().isUsingGpuDevice, sum }));`);
      assert.equal(probe.status, 0, probe.stderr);
      const result = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as { backend: string; package: string; versions: Record<string, string>; gpu: boolean; sum: number };
      assert.equal(result.backend, 'tensorflow');
      assert.equal(result.package, '@tensorflow/tfjs-node-gpu');
      assert.equal(result.versions['@tensorflow/tfjs-node-gpu'], '4.22.0');
      assert.equal(result.versions.libtensorflow, '2.9.1');
      assert.equal(result.gpu, false);
      assert.equal(result.sum, 6);
    });

    test('MIXUP_REQUIRE_GPU=1 (the job definition\'s setting) exits 1 with one line naming why, and writes nothing', async () => {
      const runId = 'e2e-gpu-refused';
      const result = await runContainer(GPU_IMAGE, containerName('gpu-refused'), containerEnv(runId, { MIXUP_REQUIRE_GPU: '1' }));
      assert.equal(result.code, 1, describeRun(result));
      // TensorFlow's own log lines (TF_CPP_MIN_LOG_LEVEL=0 in the image) come first; the job says one line, last.
      const lines = result.stderr.trim().split('\n');
      assert.deepEqual(lines.filter((line) => line.startsWith('mixup:')), [lines.at(-1)], describeRun(result));
      assert.match(lines.at(-1)!, /^mixup: MIXUP_REQUIRE_GPU=1 but no usable GPU: no GPU backend started, so the job would train on wasm \(@tensorflow\/tfjs-node-gpu: TensorFlow 2\.9\.1 loaded but found no GPU\); nvidia-smi: not found/);
      assert.deepEqual(await runStorage(runId).list(), []);
    });

    test('MIXUP_REQUIRE_GPU=0: a tiny run trains on TensorFlow\'s CPU kernels inside the GPU image and writes every artifact', async () => {
      const runId = 'e2e-gpu-cpu-kernels';
      const env = containerEnv(runId, { MIXUP_REQUIRE_GPU: '0', MIXUP_BACKEND: 'tensorflow', MIXUP_EPOCHS: '1', MIXUP_TRAIN_LIMIT: '320' });
      const result = await runContainer(GPU_IMAGE, containerName('gpu-cpu-kernels'), env);
      assert.equal(result.code, 0, describeRun(result));
      const metrics = await assertCompleteRun(runId, 1, 'tensorflow');
      assert.equal(metrics.versions['@tensorflow/tfjs-node-gpu'], '4.22.0');
      assert.equal(metrics.versions.libtensorflow, '2.9.1');
      assert.equal(metrics.device?.kind, 'cpu');
      assert.equal(metrics.device?.tensorflowGpu, false);
      assert.equal(metrics.device?.cudaRuntimeVersion, '11.7.99');
      const keys = (await readManifest(runStorage(runId)))!.objects.map((object) => object.key);
      for (const model of ['initial', 'mixup', 'baseline']) assert.ok(keys.includes(`models/${model}/weights.bin`), keys.join(', '));
      console.log(`# GPU image, TensorFlow CPU kernels: ${result.seconds.toFixed(1)}s in the container`);
    });
  });
});

function imageMegabytes(tag: string): number {
  const inspect = spawnSync('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' });
  return Math.round(Number(inspect.stdout.trim()) / 1e6);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
