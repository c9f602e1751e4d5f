/**
 * [slow][docker][cloud] The user's whole cloud loop against an AWS emulator (moto, in a virtualenv):
 * the stack the CDK app synthesizes is deployed to moto (test/support/moto-stack.ts says how), the
 * data bucket is seeded with `mixup seed-data`, `mixup sweep --wait` submits ONE Batch array job found
 * through the stack's SSM parameters, moto runs its children as containers of the real image (the
 * CPU/wasm build) writing to moto's S3, and `mixup results` reads them back; the aws CLI checks the
 * objects independently. A sweep whose children cannot find their data fails visibly.
 *
 * Test-only settings live in a one-layer image on top of the real one (ENV only): the emulator's
 * endpoint and dummy credentials, which on AWS come from the job role and the real endpoints. The job
 * definition, the queue and the sweep's SubmitJob are the product's own.
 * MIXUP_SKIP_DOCKER=1 skips it.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import type { Metrics } from '../../job/shared/metrics.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { buildImage } from '../support/docker.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { deployToMoto, readTemplate, type DeployedStack } from '../support/moto-stack.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { runUserCli } from '../support/user-cli.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP = process.env.MIXUP_SKIP_DOCKER === '1' ? 'MIXUP_SKIP_DOCKER=1: cloud end-to-end test not run' : false;
const IMAGE = process.env.MIXUP_CLOUD_IMAGE ?? 'mixup-batch:cloud';
const STACK = 'MixupBatch';
const OK_SWEEP = `cloud-ok-${process.pid}`;
const FAIL_SWEEP = `cloud-fail-${process.pid}`;
// moto starts every child at once on this machine's 2 cores: each is one epoch over a few hundred images.
/**
 * --skip-checks: mixup doctor's checks would stop these sweeps here (the image is a local tag, not in
 * moto's ECR; the second sweep's data is missing on purpose); they are tested with mocked clients.
 */
const SETTINGS = ['--epochs', '1', '--val-samples', '100', '--train-limit', '300', '--batch-size', '32', '--backend', 'wasm', '--skip-checks'];

describe('[slow][docker][cloud] cdk template → moto Batch array job in Docker → S3 → results', { skip: SKIP, timeout: 20 * 60_000 }, () => {
  let moto: MotoServer | undefined;
  let stack: DeployedStack;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let dataBucket: string;
  let resultsBucket: string;

  const mixup = (args: string[]) => runUserCli(args, { cwd: work, env });

  /** Debian's aws CLI (2.9 reads no AWS_ENDPOINT_URL, hence --endpoint-url). */
  async function awsCli(args: string[]): Promise<string> {
    return (await run('aws', ['--endpoint-url', moto!.endpoint, ...args], { env, maxBuffer: 16 << 20 })).stdout;
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'mixup-cloud-'));
    const started = performance.now();
    // The template as `cdk synth` writes it, without credentials, as users synthesize it.
    const synthDir = path.join(work, 'cdk.out');
    await run('npx', ['cdk', 'synth', '--quiet', '--output', synthDir], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' },
    });
    const template = await readTemplate(path.join(synthDir, `${STACK}.template.json`));
    const build = await buildImage(IMAGE, path.join(work, 'docker-build.log'));
    moto = await startMotoServer(path.join(work, 'moto.log'));
    env = {
      ...process.env,
      ...moto.env,
      AWS_MAX_ATTEMPTS: '2',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    for (const name of Object.keys(env)) if (name.startsWith('MIXUP_') || name.startsWith('AWS_BATCH_')) delete env[name];
    stack = await deployToMoto(template, STACK, moto);
    // The emulator's `docker run` finds the asset's ECR URI locally, with the test-only settings on top.
    const layer = spawnSync('docker', ['build', '--network', 'host', '-q', '-t', stack.imageUri, '-'], {
      input: [
        `FROM ${IMAGE}`,
        `ENV AWS_ENDPOINT_URL=${moto.endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`,
        '',
      ].join('\n'),
      encoding: 'utf8',
    });
    assert.equal(layer.status, 0, `docker build of the test layer failed: ${layer.stderr}`);
    [dataBucket, resultsBucket] = [stack.physical['DataBucketE3889A50'], stack.physical['ResultsBucketA95A2103']].map((b) => b!);
    assert.ok(stack.buckets.includes(dataBucket) && stack.buckets.includes(resultsBucket));
    console.log(
      `cloud setup: image ${build.seconds.toFixed(0)} s (${IMAGE} → ${stack.imageUri}), ` +
        `synth + deploy ${((performance.now() - started) / 1000 - build.seconds).toFixed(0)} s; not created: ${JSON.stringify(stack.skipped)}`,
    );

    const dataDir = path.join(work, 'fashion-mnist');
    await writeFakeFashionMnist(dataDir, { train: 600, test: 200 });
    const seeded = await mixup(['seed-data', '--to', `s3://${dataBucket}/fashion-mnist`, '--from', dataDir]);
    assert.equal(seeded.code, 0, seeded.stderr);
  });

  after(async () => {
    await moto?.stop();
    if (stack) spawnSync('docker', ['rmi', stack.imageUri], { stdio: 'ignore' });
    // moto removes the containers it ran; these are only leftovers of an interrupted run.
    for (const sweepId of [OK_SWEEP, FAIL_SWEEP]) {
      const listed = spawnSync('docker', ['ps', '-aq', '--filter', `name=mixup-sweep-${sweepId}`], { encoding: 'utf8' });
      const ids = listed.stdout.trim().split('\n').filter(Boolean);
      if (ids.length > 0) spawnSync('docker', ['rm', '--force', ...ids], { stdio: 'ignore' });
    }
    await rm(work, { recursive: true, force: true });
  });

  test('a sweep found through SSM runs as one array job; results and the aws CLI read all six arm runs', async () => {
    const started = performance.now();
    const swept = await mixup(['sweep', '--alphas', '0.1,0.4', '--seeds', '2', '--queue', stack.queue, '--wait', '--poll-seconds', '2', '--sweep-id', OK_SWEEP, ...SETTINGS]);
    const sweepSeconds = (performance.now() - started) / 1000;
    console.log(`$ mixup sweep … (${sweepSeconds.toFixed(0)} s)\n${swept.stdout}${swept.stderr}`);
    assert.equal(swept.code, 0, swept.stderr);
    assert.match(swept.stdout, new RegExp(`queue: +${stack.queue} \\(${escape(stack.jobQueueArn)}\\)`));
    assert.match(swept.stdout, new RegExp(`job def: +${escape(stack.jobDefinitionArn)}`));
    // 2 shared baselines + 2 α × 2 seeds mixup arms.
    assert.match(swept.stdout, /array of 6/);
    assert.match(swept.stdout, /final: +SUCCEEDED 6 \(of 6\)/);

    const results = await mixup(['results', '--sweep', OK_SWEEP]);
    console.log(`$ mixup results --sweep ${OK_SWEEP}\n${results.stdout}${results.stderr}`);
    assert.equal(results.code, 0, results.stderr);
    const rows = results.stdout.split('\n').filter((line) => /complete/.test(line));
    for (const alpha of ['0.1', '0.4']) {
      assert.ok(rows.some((row) => row.includes(alpha) && row.includes('2/2 complete')), `no '2/2 complete' row for α ${alpha}:\n${results.stdout}`);
    }

    // Independently of the SDK: the plan, four manifests and metrics in moto's S3.
    const prefix = `s3://${resultsBucket}/sweeps/${OK_SWEEP}`;
    const listing = await awsCli(['s3', 'ls', '--recursive', `${prefix}/`]);
    const record = JSON.parse(await awsCli(['s3', 'cp', `${prefix}/sweep.json`, '-'])) as SweepRecord;
    assert.equal(record.batch?.jobQueue, stack.jobQueueArn);
    assert.equal(record.data, `s3://${dataBucket}/fashion-mnist`);
    for (const run of record.runs) {
      assert.match(listing, new RegExp(`sweeps/${OK_SWEEP}/runs/${escape(run.runId)}/manifest\\.json`));
      const metrics = JSON.parse(await awsCli(['s3', 'cp', `${prefix}/runs/${run.runId}/metrics.json`, '-'])) as Metrics;
      assert.equal(metrics.runId, run.runId);
      assert.equal(metrics.config.alpha, run.alpha);
      assert.equal(metrics.config.seed, run.seed);
      assert.equal(metrics.backend, 'wasm');
    }
  });

  test('children that cannot read their data: --wait exits 1 naming each (α, seed), its reason and log; results counts them failed', async () => {
    const swept = await mixup([
      'sweep', '--alphas', '0.1,0.4', '--seeds', '1', '--queue', stack.queue, '--wait', '--poll-seconds', '2', '--sweep-id', FAIL_SWEEP,
      '--data', `s3://${dataBucket}/no-such-prefix`, ...SETTINGS,
    ]);
    console.log(`$ mixup sweep … --data s3://${dataBucket}/no-such-prefix\n${swept.stdout}${swept.stderr}`);
    assert.equal(swept.code, 1, swept.stderr);
    // The seed's baseline (index 0) and one mixup arm per α.
    assert.match(swept.stdout, /final: +FAILED 3 \(of 3\)/);
    for (const [alpha, index] of [['0.1', 1], ['0.4', 2]] as const) {
      const block = new RegExp(`failed: α = ${escape(alpha)}, seed 1 \\(mixup_alpha-${escape(alpha)}_seed-1, job [^)]+:${index}\\): [^\\n]+\\n  last \\d+ log line\\(s\\) of \\S+ \\S+:\\n(    \\| .*\\n?)+`);
      assert.match(swept.stderr, block);
    }
    // moto gives no status reason or exit code in DescribeJobs (AWS does); the log says why.
    assert.match(swept.stderr, /\| mixup: not found: s3:\/\/\S+\/no-such-prefix\/train-images-idx3-ubyte\.gz/);
    assert.match(swept.stderr, /3 of 3 runs failed: baseline_seed-1, mixup_alpha-0\.1_seed-1, mixup_alpha-0\.4_seed-1/);

    const results = await mixup(['results', '--sweep', FAIL_SWEEP]);
    console.log(`$ mixup results --sweep ${FAIL_SWEEP}\n${results.stdout}${results.stderr}`);
    const rows = results.stdout.split('\n').filter((line) => /complete/.test(line));
    for (const alpha of ['0.1', '0.4']) {
      assert.ok(rows.some((row) => row.includes(alpha) && row.includes('0/1 complete, 1 failed')), `no failed row for α ${alpha}:\n${results.stdout}`);
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
