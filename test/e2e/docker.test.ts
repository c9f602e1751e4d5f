/**
 * [slow][docker] The job image, built by a real Docker engine and run against the local S3 the way
 * AWS Batch runs it. The image run is the CPU variant (the Dockerfile's `cpu` stage), the one the
 * stack's Fargate queue runs; the GPU variant (the last stage) is built too and its entry checked: configuration by environment variables only, results in S3, a bad setting
 * rejected in one line, and a container killed mid-run resumed by a second one with the same job id.
 * Takes a few minutes (the first image build on a machine, longer); MIXUP_SKIP_DOCKER=1 skips it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import { CPU_IMAGE_TARGET } from '../../job/shared/stack.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import type { Storage } from '../../job/storage/storage.js';
import { seedData } from '../../scripts/seed-data.js';
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

// Small enough for seconds of wasm training, large enough that a killed run has epochs left to resume.
const DATASET = { train: 2400, test: 300 };
// No MIXUP_BACKEND: the CPU image must choose wasm by itself (`auto`), as it does on Fargate.
const BASE_SETTINGS = { MIXUP_VAL_SAMPLES: '200', MIXUP_BATCH_SIZE: '32' };

describe('[slow][docker] the job image on a real Docker engine against the local S3', { skip: SKIP, timeout: 15 * 60_000 }, () => {
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

  async function assertCompleteRun(runId: string, epochs: number): Promise<Metrics> {
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
    assert.equal(metrics.backend, 'wasm');
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
    // The container's numbers are the in-process wasm run's, bit for bit.
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
    const probe = spawnSync('docker', [
      'run', '--rm', '--network', 'host', '--entrypoint', 'node', IMAGE, '-e',
      "for (const m of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@aws-sdk/client-batch']) { try { require.resolve(m); console.log('has ' + m); } catch {} } console.log('uid ' + process.getuid());",
    ], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), 'uid 10001');
  });

  test('the GPU image (the Dockerfile\'s last stage) builds offline too, and its entry loads', async () => {
    const build = await buildImage(GPU_IMAGE, path.join(workDir, 'docker-build-gpu.log'), GPU_IMAGE_TARGET);
    const version = spawnSync('docker', ['run', '--rm', '--network', 'host', GPU_IMAGE, '--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    console.log(`# image ${GPU_IMAGE} built in ${build.seconds.toFixed(0)}s, ${imageMegabytes(GPU_IMAGE)} MB`);
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
});

function imageMegabytes(tag: string): number {
  const inspect = spawnSync('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' });
  return Math.round(Number(inspect.stdout.trim()) / 1e6);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
