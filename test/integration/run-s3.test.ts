/**
 * `mixup run` reading its data from and writing its run to LocalStack's S3 on 127.0.0.1,
 * as a separate process (the CLI, as a user or AWS Batch starts it): complete runs, SIGKILL and
 * resume, and the data errors that must stop a run before it trains.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import { openStorage } from '../../job/storage/open.js';
import { createS3Client } from '../../job/storage/s3-client.js';
import { seedData } from '../../scripts/seed-data/seed-data.js';
import { checkpointWhole } from '../support/checkpoint-state.js';
import { FASHION_MNIST_FILES, writeFakeFashionMnist } from '../support/fake-dataset.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'mixup-runs';
const DATA = `s3://${BUCKET}/data/fashion-mnist`;
const OUT = `s3://${BUCKET}/runs`;
// Small enough for well under a second per epoch, with enough epochs after the first checkpoint (the arms
// train at once on two cores, so a 2-epoch run could end before a kill aimed at its second epoch).
const RUN_ARGS = ['--data', DATA, '--out', OUT, '--epochs', '5', '--batch-size', '32', '--val-samples', '100', '--seed', '3', '--backend', 'wasm'];

let server: S3Server;
let work: string;
let env: NodeJS.ProcessEnv;
const savedEnv = { ...process.env };

before(async () => {
  server = await startS3Server();
  env = { ...process.env, ...server.env, AWS_MAX_ATTEMPTS: '2', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  Object.assign(process.env, env);
  await server.createBucket(BUCKET);
  work = await mkdtemp(path.join(os.tmpdir(), 'run-s3-'));
  const from = path.join(work, 'fake');
  await writeFakeFashionMnist(from, { train: 500, test: 100, seed: 11 });
  await seedData({ from, to: DATA });
});

after(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts the CLI — `run` through the image's entry (job/cli.ts), the other commands through the user's
 * (scripts/cli.ts); `whileRunning` may kill it.
 */
function mixup(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>): Promise<Finished> {
  const entry = args[0] === 'run' ? 'job/cli.ts' : 'scripts/cli.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return whileRunning ? whileRunning(child).then(() => exited) : exited;
}

function events(stdout: string): { event: string; [key: string]: unknown }[] {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

/** The numbers a resumed run must reproduce exactly; timings are excluded, they differ run to run. */
function results(metrics: Metrics): unknown {
  return Object.fromEntries(
    Object.entries(metrics.arms).map(([arm, m]) => [arm, { test: m!.test, history: m!.history.map(({ seconds: _, ...rest }) => rest) }]),
  );
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('mixup run against S3', () => {
  let uninterrupted: Metrics;

  test('reads data from S3, writes every artifact with its content type, then a manifest that verifies', async () => {
    const result = await mixup(['run', ...RUN_ARGS, '--run-id', 'full']);
    assert.equal(result.code, 0, result.stderr);
    const run = openStorage(`${OUT}/full`);
    const manifest = await readManifest(run);
    assert.ok(manifest, 'manifest.json written');
    assert.deepEqual(await verifyManifest(run, manifest), []);
    const keys = manifest.objects.map((o) => o.key);
    for (const key of ['metrics.json', 'history.csv', 'curves.png', 'samples.png', 'models/mixup/weights.bin']) {
      assert.ok(keys.includes(key), `${key} in the manifest`);
    }
    assert.ok(keys.every((key) => !key.startsWith('checkpoints/')));

    const client = createS3Client();
    const typeOf = async (key: string) => (await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `runs/full/${key}` }))).ContentType;
    assert.equal(await typeOf('metrics.json'), 'application/json');
    assert.equal(await typeOf('curves.png'), 'image/png');
    assert.equal(await typeOf('history.csv'), 'text/csv');
    assert.equal(await typeOf('models/mixup/weights.bin'), 'application/octet-stream');

    uninterrupted = JSON.parse((await run.read('metrics.json')).toString()) as Metrics;
    assert.equal(uninterrupted.config.data, DATA);
    assert.deepEqual(Object.keys(uninterrupted.arms).sort(), ['baseline', 'mixup']);
  });

  test('a completed run started again does nothing and says so', async () => {
    const before = await openStorage(`${OUT}/full`).read('manifest.json');
    const result = await mixup(['run', ...RUN_ARGS, '--run-id', 'full']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(events(result.stdout).some((e) => e.event === 'already-complete'), result.stdout);
    assert.ok((await openStorage(`${OUT}/full`).read('manifest.json')).equals(before));
  });

  test('a completed run whose object on S3 no longer matches its manifest is not complete: named, then trained again under --discard-checkpoint', async () => {
    const run = openStorage(`${OUT}/full`);
    const weights = await run.read('models/mixup/weights.bin');
    weights[100] ^= 0xff; // same size, other bytes: only the SHA-256 tells
    await run.write('models/mixup/weights.bin', weights, 'application/octet-stream');
    const refused = await mixup(['run', ...RUN_ARGS, '--run-id', 'full']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^mixup: run full at ${OUT}/full has a manifest but is not complete: ${OUT}/full/models/mixup/weights\\.bin has SHA-256 [0-9a-f]{64}; the manifest says [0-9a-f]{64}; .*--discard-checkpoint.*\n$`));
    const retrained = await mixup(['run', ...RUN_ARGS, '--run-id', 'full', '--discard-checkpoint']);
    assert.equal(retrained.code, 0, retrained.stderr);
    assert.ok(events(retrained.stdout).some((e) => e.event === 'retrain'), retrained.stdout);
    assert.deepEqual(await verifyManifest(run, (await readManifest(run))!), []);
    assert.deepEqual(results(JSON.parse((await run.read('metrics.json')).toString()) as Metrics), results(uninterrupted));
  });

  test('a run killed with SIGKILL mid-epoch resumes from its checkpoint and ends with the same metrics', async () => {
    const run = openStorage(`${OUT}/killed`);
    const killed = await mixup(['run', ...RUN_ARGS, '--run-id', 'killed'], async (child) => {
      await until(() => checkpointWhole(run), 120_000);
      // Into the next epoch's steps, so the kill lands between checkpoints, whatever is being written
      // then: S3 shows an object only once its body is whole.
      await new Promise((resolve) => setTimeout(resolve, 400));
      child.kill('SIGKILL');
    });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(await readManifest(run), null, 'a killed run is incomplete');

    const resumed = await mixup(['run', ...RUN_ARGS, '--run-id', 'killed']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const resume = events(resumed.stdout).find((e) => e.event === 'resume');
    assert.ok(resume, `the second start resumed:\n${resumed.stdout}`);
    const metrics = JSON.parse((await run.read('metrics.json')).toString()) as Metrics;
    assert.deepEqual(results(metrics), results(uninterrupted));
    assert.deepEqual(await verifyManifest(run, (await readManifest(run))!), []);
  });
});

describe('mixup seed-data', () => {
  test('uploads through the CLI, prints a JSON report, and skips everything on a second run', async () => {
    const to = `s3://${BUCKET}/data/cli`;
    const args = ['seed-data', '--to', to, '--from', path.join(work, 'fake')];
    const first = await mixup(args);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as { to: string; files: { action: string }[] };
    assert.equal(report.to, to);
    assert.deepEqual(report.files.map((f) => f.action), ['uploaded', 'uploaded', 'uploaded', 'uploaded']);
    const second = JSON.parse((await mixup(args)).stdout) as { files: { action: string }[] };
    assert.deepEqual(second.files.map((f) => f.action), ['skipped', 'skipped', 'skipped', 'skipped']);
  });

  test('an invalid bucket name is a usage error, exit 2, naming the option and the rule', async () => {
    const result = await mixup(['seed-data', '--to', 's3://Bad_Bucket/x', '--from', path.join(work, 'fake')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^mixup: --to 's3:\/\/Bad_Bucket\/x': bucket name 'Bad_Bucket' may only contain lower-case letters/m);
  });
});

describe('mixup run refuses bad data on S3', () => {
  test('a data file that differs from SHA256SUMS stops the run before training, with no manifest', async () => {
    const data = `s3://${BUCKET}/data/tampered`;
    const from = path.join(work, 'tampered');
    await writeFakeFashionMnist(from, { train: 500, test: 100, seed: 12 });
    await seedData({ from, to: data });
    const other = await writeFakeFashionMnist(path.join(work, 'other'), { train: 100, test: 100, seed: 13 });
    await openStorage(data).write(FASHION_MNIST_FILES.testImages, await readFile(other.testImages), 'application/octet-stream');

    const result = await mixup(['run', ...RUN_ARGS, '--data', data, '--run-id', 'tampered']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^mixup: wrong checksum: s3:\/\/mixup-runs\/data\/tampered\/t10k-images-idx3-ubyte\.gz has SHA-256 [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}/m);
    assert.equal(await openStorage(`${OUT}/tampered`).exists('manifest.json'), false);
    assert.equal(await openStorage(`${OUT}/tampered`).exists('metrics.json'), false);
  });

  test('a missing data object is one line naming its s3:// URI, exit 1', async () => {
    const data = `s3://${BUCKET}/data/missing`;
    await seedData({ from: path.join(work, 'fake'), to: data });
    await openStorage(data).delete(FASHION_MNIST_FILES.trainLabels);
    const result = await mixup(['run', ...RUN_ARGS, '--data', data, '--run-id', 'missing']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').at(-1), `mixup: not found: ${data}/${FASHION_MNIST_FILES.trainLabels}`);
  });

  test('a missing bucket is one line naming the bucket, exit 1', async () => {
    const result = await mixup(['run', ...RUN_ARGS, '--data', 's3://no-such-data-bucket/fm', '--run-id', 'nobucket']);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim().split('\n').at(-1)!, /^mixup: bucket does not exist: s3:\/\/no-such-data-bucket /);
  });
});
