/**
 * [slow][docker][cloud] The stack on LocalStack, used as a user uses it on AWS: the template `cdk synth`
 * writes is deployed with LocalStack's CloudFormation (`aws cloudformation create-stack`): its S3
 * buckets, bucket policies, SSM parameters, IAM roles and policies and log groups
 * (test/support/localstack-stack.ts). The Batch resources, which LocalStack's free edition lacks, are
 * moto's (test/support/moto-stack.ts), their ARNs passed in as template parameters. Then, with nothing
 * but the endpoints and dummy credentials set: `mixup seed-data` to the stack's DataUri output,
 * `mixup sweep --dry-run` finding the queue, the job definition and both buckets through SSM, the
 * job image in a container running `mixup run` against LocalStack's S3 with the settings a Batch job
 * gets, and `mixup results` finding the run through SSM. The Batch loop itself is test/cloud/sweep-moto.test.ts.
 * MIXUP_SKIP_DOCKER=1 skips it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { DEFAULT_STACK_NAME, ssmParameterName } from '../../job/shared/stack.js';
import { buildImage, jobEvents, removeContainers, runContainer } from '../support/docker.js';
import { writeFakeFashionMnist } from '../support/fake-dataset.js';
import { useLocalStack, type LocalStack } from '../support/localstack.js';
import { deployToLocalStack, type LocalStackDeployment } from '../support/localstack-stack.js';
import { startMotoServer, type MotoServer } from '../support/moto-server.js';
import { deployToMoto, readTemplate, type DeployedStack } from '../support/moto-stack.js';
import { runUserCli } from '../support/user-cli.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP = process.env.MIXUP_SKIP_DOCKER === '1' ? 'MIXUP_SKIP_DOCKER=1: LocalStack stack test not run' : false;
const IMAGE = process.env.MIXUP_CLOUD_IMAGE ?? 'mixup-batch:cloud';
const STACK = DEFAULT_STACK_NAME;
const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const RUN_ID = `ls-run-${process.pid}`;

describe('[slow][docker][cloud] cdk template → LocalStack CloudFormation → seed-data, a container run, results', { skip: SKIP, timeout: 20 * 60_000 }, () => {
  let localstack: LocalStack;
  let moto: MotoServer | undefined;
  let batch: DeployedStack;
  let deployed: LocalStackDeployment;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const containers: string[] = [];

  const mixup = (args: string[]) => runUserCli(args, { cwd: work, env });
  /** Debian's aws CLI (2.9 reads no AWS_ENDPOINT_URL, hence --endpoint-url). */
  async function aws(args: string[]): Promise<any> {
    return JSON.parse((await run(AWS, ['--endpoint-url', localstack.endpoint, '--output', 'json', ...args], { env: { ...env, AWS_PAGER: '' } })).stdout);
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'mixup-ls-stack-'));
    const synthDir = path.join(work, 'cdk.out');
    await run('npx', ['cdk', 'synth', '--quiet', '--output', synthDir], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' },
    });
    const template = await readTemplate(path.join(synthDir, `${STACK}.template.json`));
    const build = await buildImage(IMAGE, path.join(work, 'docker-build.log'));
    localstack = await useLocalStack();
    moto = await startMotoServer(path.join(work, 'moto.log'));
    batch = await deployToMoto(template, STACK, moto);
    const batchArns = Object.fromEntries(
      Object.entries(template.Resources).filter(([, r]) => r.Type.startsWith('AWS::Batch::')).map(([id]) => [id, batch.physical[id]!]),
    );
    deployed = await deployToLocalStack(template, STACK, localstack, batchArns, work);
    console.log(`# image ${build.seconds.toFixed(0)} s; LocalStack ${localstack.version} CloudFormation: ${Object.keys(deployed.physical).length} resources in ${deployed.seconds.toFixed(0)} s; cut: ${JSON.stringify(deployed.cut)}`);
    // Only what a user sets to use LocalStack: the endpoint and dummy credentials. Batch calls go to moto.
    env = { ...process.env, ...localstack.env, AWS_ENDPOINT_URL_BATCH: moto.endpoint, AWS_MAX_ATTEMPTS: '2', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    for (const name of Object.keys(env)) if (name.startsWith('MIXUP_') || name.startsWith('AWS_BATCH_')) delete env[name];
  });

  after(async () => {
    removeContainers(containers);
    await moto?.stop();
    await localstack?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("CloudFormation created the template's buckets, parameters, roles and log groups with their properties", async () => {
    const data = deployed.physical['DataBucketE3889A50']!;
    assert.equal(deployed.outputs.DataUri, `s3://${data}/fashion-mnist`);
    // The TLS-only bucket policy is there (LocalStack does not enforce it: every test here speaks plain HTTP).
    const policy = JSON.parse((await aws(['s3api', 'get-bucket-policy', '--bucket', data])).Policy);
    assert.ok(policy.Statement.some((s: { Effect: string; Condition?: { Bool?: Record<string, string> } }) =>
      s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'), JSON.stringify(policy));
    // Recorded difference (docs/localstack.md): LocalStack's AWS::S3::Bucket handler drops the
    // template's LifecycleConfiguration (abort incomplete multipart uploads after a day; expiry rules).
    await assert.rejects(aws(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', data]), /NoSuchLifecycleConfiguration/);
    const parameter = await aws(['ssm', 'get-parameter', '--name', ssmParameterName(STACK, 'cpu.jobQueue')]);
    assert.equal(parameter.Parameter.Value, batch.physical['CpuJobQueue5DE1AEE7']);
    const role = await aws(['iam', 'get-role', '--role-name', deployed.physical['JobRole014917C6']!]);
    assert.equal(role.Role.AssumeRolePolicyDocument.Statement[0].Principal.Service, 'ecs-tasks.amazonaws.com');
    const groups = await aws(['logs', 'describe-log-groups', '--log-group-name-prefix', deployed.physical['JobLogs4F84869B']!]);
    assert.equal(groups.logGroups[0].logGroupName, deployed.physical['JobLogs4F84869B']);
    // Recorded difference: LocalStack's AWS::Logs::LogGroup handler drops RetentionInDays (the template says 30).
    assert.equal(groups.logGroups[0].retentionInDays, undefined);
  });

  test('seed-data to the DataUri output, a sweep plan found through SSM, a container run on LocalStack S3, results through SSM', async () => {
    const dataDir = path.join(work, 'fashion-mnist');
    await writeFakeFashionMnist(dataDir, { train: 600, test: 200, seed: 21 });
    const seeded = await mixup(['seed-data', '--to', deployed.outputs.DataUri!, '--from', dataDir]);
    assert.equal(seeded.code, 0, seeded.stderr);
    console.log(`$ mixup seed-data --to ${deployed.outputs.DataUri} --from ${dataDir}\n${seeded.stdout}`);

    // The queue, its job definition and both buckets, from the stack's SSM parameters.
    const plan = await mixup(['sweep', '--queue', 'cpu', '--alphas', '0.4', '--seeds', '1', '--dry-run', '--skip-checks', '--sweep-id', 'ls-plan']);
    console.log(`$ mixup sweep --queue cpu --alphas 0.4 --seeds 1 --dry-run --skip-checks --sweep-id ls-plan\n${plan.stdout}${plan.stderr}`);
    assert.equal(plan.code, 0, plan.stderr);
    const results = deployed.physical['ResultsBucketA95A2103']!;
    assert.match(plan.stdout, new RegExp(`plan: +s3://${results}/sweeps/ls-plan`));
    assert.match(plan.stdout, new RegExp(`data: +${escape(deployed.outputs.DataUri!)}`));
    assert.match(plan.stdout, new RegExp(`queue: +cpu \\(${escape(batch.physical['CpuJobQueue5DE1AEE7']!)}\\)`));
    assert.match(plan.stdout, new RegExp(`job def: +${escape(batch.physical['CpuJobDefinition08E512AF']!)}`));

    // The image as a Batch job runs it: settings by environment, the job id naming the run.
    const name = `mixup-ls-stack-${process.pid}`;
    containers.push(name);
    const container = await runContainer(IMAGE, name, {
      ...localstack.env,
      AWS_BATCH_JOB_ID: RUN_ID,
      MIXUP_DATA: deployed.outputs.DataUri!,
      MIXUP_OUT: `s3://${results}/runs`,
      MIXUP_EPOCHS: '1',
      MIXUP_TRAIN_LIMIT: '300',
      MIXUP_VAL_SAMPLES: '100',
      MIXUP_BATCH_SIZE: '32',
    });
    assert.equal(container.code, 0, `${container.stdout.slice(-3000)}\n${container.stderr.slice(-3000)}`);
    assert.ok(jobEvents(container.stdout).some((event) => event.event === 'done'), container.stdout.slice(-3000));

    const shown = await mixup(['results', '--run', RUN_ID]);
    console.log(`$ mixup results --run ${RUN_ID}\n${shown.stdout}${shown.stderr}`);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /1\/1 complete/);
    const json = await mixup(['results', '--run', RUN_ID, '--format', 'json']);
    const summary = JSON.parse(json.stdout) as { uri: string; runs: { runId: string; state: string; backend: string | null }[] };
    assert.equal(summary.uri, `s3://${results}/runs/${RUN_ID}`);
    assert.deepEqual(summary.runs.map((r) => [r.runId, r.state, r.backend]), [[RUN_ID, 'complete', 'wasm']]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
