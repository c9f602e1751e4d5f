import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { ComputeEnvironmentDetail, JobDefinition, JobQueueDetail } from '@aws-sdk/client-batch';
import { Command } from 'commander';

import { createProgram, runProgram } from '../../job/program.js';
import { FILES } from '../../job/data/fashion-mnist.js';
import { formatSha256Sums } from '../../job/data/sha256sums.js';
import { JobError } from '../../job/errors.js';
import type { CommandSender, SsmApi } from '../../scripts/batch-client.js';
import { createDoctorApi, parseEcrImage } from '../../scripts/doctor/aws.js';
import { hasBlocker, runChecks, type Check } from '../../scripts/doctor/checks.js';
import { register as registerDoctorCommand } from '../../scripts/commands/doctor.js';
import { doctor, formatChecklist, type DoctorDeps } from '../../scripts/doctor/doctor.js';
import { sweep } from '../../scripts/sweep/sweep.js';
import type { SweepDeps } from '../../scripts/sweep/deps.js';
import { memoryOpener } from './sweep-fixtures.js';

// As runProgram does for the CLI: the SDK's notice about Node 20 would otherwise land in the first test
// that loads a client, now that the command loads its clients when it runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const QUEUE = `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/JobQueue-abc`;
const JOB_DEF = `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/JobDefinition-abc:3`;
const SPOT_CE = `arn:aws:batch:${REGION}:${ACCOUNT}:compute-environment/SpotGpu-abc`;
const OD_CE = `arn:aws:batch:${REGION}:${ACCOUNT}:compute-environment/OnDemandGpu-abc`;
const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/cdk-hnb659fds-container-assets-${ACCOUNT}-${REGION}:0123abcd`;

interface World {
  queue?: Partial<JobQueueDetail> | null;
  environments?: Partial<ComputeEnvironmentDetail>[];
  jobDefinition?: Partial<JobDefinition> | null;
  imageError?: string;
  quotas?: Record<string, number | string>;
  /** The Spot service-linked role: present (default), missing, or an error name such as AccessDenied. */
  spotRole?: 'present' | 'missing' | string;
}

const environment = (arn: string, type: 'SPOT' | 'EC2' | 'FARGATE', extra: Partial<ComputeEnvironmentDetail> = {}): Partial<ComputeEnvironmentDetail> => ({
  computeEnvironmentArn: arn,
  computeEnvironmentName: arn.split('/')[1],
  state: 'ENABLED',
  status: 'VALID',
  computeResources: { type, maxvCpus: 64, subnets: [], instanceTypes: type === 'FARGATE' ? undefined : ['g4dn'] } as ComputeEnvironmentDetail['computeResources'],
  ...extra,
});

function error(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/** Batch, ECR, Service Quotas and IAM clients answering from `world`, as the SDK's send() would. */
function clients(world: World, calls: string[] = []) {
  const sender = (answer: (name: string, input: Record<string, unknown>) => unknown): CommandSender => ({
    send: async (command) => {
      const name = command.constructor.name;
      const input = (command as { input: Record<string, unknown> }).input;
      calls.push(`${name} ${JSON.stringify(input)}`);
      return answer(name, input);
    },
  });
  return {
    batch: sender((name) => {
      switch (name) {
        case 'DescribeJobQueuesCommand':
          return { jobQueues: world.queue === null ? [] : [{
            jobQueueArn: QUEUE, jobQueueName: 'JobQueue-abc', state: 'ENABLED', status: 'VALID', priority: 1,
            computeEnvironmentOrder: [{ order: 1, computeEnvironment: SPOT_CE }, { order: 2, computeEnvironment: OD_CE }],
            ...world.queue,
          }] };
        case 'DescribeComputeEnvironmentsCommand':
          return { computeEnvironments: world.environments ?? [environment(SPOT_CE, 'SPOT'), environment(OD_CE, 'EC2')] };
        case 'DescribeJobDefinitionsCommand':
          return { jobDefinitions: world.jobDefinition === null ? [] : [{
            jobDefinitionName: 'JobDefinition-abc', revision: 3, status: 'ACTIVE', type: 'container',
            containerProperties: { image: IMAGE, resourceRequirements: [{ type: 'VCPU', value: '4' }, { type: 'GPU', value: '1' }] },
            ...world.jobDefinition,
          }] };
        default:
          throw new Error(`unexpected ${name}`);
      }
    }),
    ecr: (region: string) => sender((name) => {
      assert.equal(region, REGION);
      assert.equal(name, 'DescribeImagesCommand');
      if (world.imageError) throw error(world.imageError);
      return { imageDetails: [{ imageTags: ['0123abcd'] }] };
    }),
    quotas: sender((name, input) => {
      const value = (world.quotas ?? {})[input.QuotaCode as string] ?? 64;
      if (value === 'unset' && name === 'GetServiceQuotaCommand') throw error('NoSuchResourceException');
      if (value === 'unset') return { Quota: { Value: 0 } };
      if (typeof value === 'string') throw error(value, `User is not authorized to perform: servicequotas:GetServiceQuota`);
      return { Quota: { QuotaCode: input.QuotaCode, Value: value } };
    }),
    iam: sender((name, input) => {
      assert.equal(name, 'GetRoleCommand');
      const role = world.spotRole ?? 'present';
      if (role === 'missing') throw error('NoSuchEntityException', `The role with name ${input.RoleName} cannot be found.`);
      if (role !== 'present') throw error(role, `User is not authorized to perform: iam:GetRole`);
      return { Role: { RoleName: input.RoleName, Path: '/aws-service-role/spot.amazonaws.com/' } };
    }),
  };
}

/** A seeded data prefix: the four files and a SHA256SUMS listing them (or a damaged variant). */
function dataStorage(variant: 'complete' | 'no-sums' | 'short-sums' | 'empty' = 'complete') {
  const opener = memoryOpener();
  const data = opener.openStorage('s3://mixup-data-123/fashion-mnist');
  const names = Object.values(FILES);
  if (variant !== 'empty') for (const name of names) void data.write(name, 'x', 'application/gzip');
  if (variant === 'complete') void data.write('SHA256SUMS', formatSha256Sums(Object.fromEntries(names.map((n) => [n, '0'.repeat(64)]))), 'text/plain');
  if (variant === 'short-sums') void data.write('SHA256SUMS', formatSha256Sums({ [names[0]!]: '0'.repeat(64) }), 'text/plain');
  return { data, opener };
}

async function check(world: World = {}, data = dataStorage().data): Promise<Check[]> {
  return runChecks(createDoctorApi(clients(world)), { stackName: 'MixupBatch', jobQueueArn: QUEUE, jobDefinitionArn: JOB_DEF, data });
}

const find = (checks: Check[], pattern: RegExp) => {
  const found = checks.find((c) => pattern.test(c.name));
  assert.ok(found, `no check matches ${pattern}: ${checks.map((c) => c.name).join(', ')}`);
  return found;
};

describe('mixup doctor checks (mocked Batch, ECR and Service Quotas clients)', () => {
  test('a healthy stack: every check ok, in queue order, with the quotas of spot and on-demand G instances', async () => {
    const calls: string[] = [];
    const checks = await runChecks(createDoctorApi(clients({}, calls)), { stackName: 'MixupBatch', jobQueueArn: QUEUE, jobDefinitionArn: JOB_DEF, data: dataStorage().data });
    assert.deepEqual(checks.map((c) => c.status), Array(checks.length).fill('ok'), formatChecklist(checks));
    assert.deepEqual(checks.map((c) => c.name), [
      'job queue JobQueue-abc',
      'compute environment SpotGpu-abc',
      'compute environment OnDemandGpu-abc',
      'job definition JobDefinition-abc:3',
      'image',
      'data',
      'quota L-3819A6DF (All G and VT Spot Instance Requests) for SpotGpu-abc',
      'quota L-DB2E81BA (Running On-Demand G and VT instances) for OnDemandGpu-abc',
      'Spot service-linked role AWSServiceRoleForEC2Spot',
    ]);
    assert.equal(hasBlocker(checks), false);
    assert.ok(calls.includes('GetRoleCommand {"RoleName":"AWSServiceRoleForEC2Spot"}'), calls.join('\n'));
    assert.ok(calls.some((c) => c.startsWith('DescribeImagesCommand') && c.includes('"imageTag":"0123abcd"') && c.includes(`"registryId":"${ACCOUNT}"`)));
  });

  test('a missing Spot service-linked role is a blocker whose fix is the one command that creates it', async () => {
    const checks = await check({ spotRole: 'missing' });
    const role = find(checks, /^Spot service-linked role AWSServiceRoleForEC2Spot$/);
    assert.equal(role.status, 'fail');
    assert.match(role.detail, /^missing: SpotGpu-abc cannot launch Spot instances/);
    assert.match(role.fix!, /^aws iam create-service-linked-role --aws-service-name spot\.amazonaws\.com {3}\(once per account\)/);
    assert.equal(hasBlocker(checks), true);
  });

  test('a Spot role that cannot be read is a warning naming the permission; a queue without EC2 Spot is not asked', async () => {
    const denied = find(await check({ spotRole: 'AccessDenied' }), /^Spot service-linked role/);
    assert.equal(denied.status, 'warn');
    assert.match(denied.fix!, /grant iam:GetRole .*aws iam create-service-linked-role --aws-service-name spot\.amazonaws\.com$/);
    const calls: string[] = [];
    const fargate = [environment(SPOT_CE, 'FARGATE'), environment(OD_CE, 'FARGATE')];
    const checks = await runChecks(createDoctorApi(clients({ environments: fargate }, calls)), { stackName: 'MixupBatch', jobQueueArn: QUEUE, jobDefinitionArn: JOB_DEF, data: null });
    assert.equal(checks.some((c) => /Spot service-linked role/.test(c.name)), false);
    assert.equal(calls.some((c) => c.startsWith('GetRoleCommand')), false);
  });

  test('a 0 spot G quota is a blocker whose fix is the quota link or -c spot=false', async () => {
    const checks = await check({ quotas: { 'L-3819A6DF': 0 } });
    const quota = find(checks, /L-3819A6DF/);
    assert.equal(quota.status, 'fail');
    assert.match(quota.detail, /^0 vCPUs < 4 per job: .*RUNNABLE/);
    assert.match(quota.fix!, new RegExp(`https://${REGION}\\.console\\.aws\\.amazon\\.com/servicequotas/home/services/ec2/quotas/L-3819A6DF`));
    assert.match(quota.fix!, /npx cdk deploy -c spot=false/);
    assert.equal(hasBlocker(checks), true);
  });

  test('an on-demand quota below maxvCpus is a warning with the concurrency it allows', async () => {
    const quota = find(await check({ quotas: { 'L-DB2E81BA': 8 } }), /L-DB2E81BA/);
    assert.equal(quota.status, 'warn');
    assert.match(quota.detail, /8 vCPUs < maxvCpus 64: at most 2 jobs at once/);
    assert.match(quota.fix!, /-c maxvCpus=8/);
  });

  test("a quota never changed is read from AWS's default; an unreadable one is a warning, not a crash", async () => {
    assert.equal(find(await check({ quotas: { 'L-3819A6DF': 'unset' } }), /L-3819A6DF/).status, 'fail');
    const denied = find(await check({ quotas: { 'L-3819A6DF': 'AccessDeniedException' } }), /L-3819A6DF/);
    assert.equal(denied.status, 'warn');
    assert.match(denied.detail, /could not read it: User is not authorized/);
  });

  test('a disabled or invalid queue fails with its status reason and the fix', async () => {
    const disabled = find(await check({ queue: { state: 'DISABLED' } }), /job queue/);
    assert.equal(disabled.status, 'fail');
    assert.match(disabled.fix!, /update-job-queue --job-queue JobQueue-abc --state ENABLED/);
    const invalid = find(await check({ queue: { status: 'INVALID', statusReason: 'CE order invalid' } }), /job queue/);
    assert.match(invalid.detail, /ENABLED\/INVALID: CE order invalid/);
  });

  test('a missing queue fails and names --queue', async () => {
    const checks = await check({ queue: null });
    assert.equal(checks[0]!.status, 'fail');
    assert.match(checks[0]!.fix!, /--queue/);
  });

  test('an INVALID compute environment fails with its reason; a disabled one with the command that enables it', async () => {
    const invalid = find(await check({ environments: [environment(SPOT_CE, 'SPOT', { status: 'INVALID', statusReason: 'CLIENT_ERROR - instance role not found' }), environment(OD_CE, 'EC2')] }), /SpotGpu/);
    assert.equal(invalid.status, 'fail');
    assert.match(invalid.detail, /instance role not found/);
    const disabled = find(await check({ environments: [environment(SPOT_CE, 'SPOT', { state: 'DISABLED' }), environment(OD_CE, 'EC2')] }), /SpotGpu/);
    assert.match(disabled.fix!, /update-compute-environment --compute-environment SpotGpu-abc --state ENABLED/);
    const gone = await check({ environments: [environment(OD_CE, 'EC2')] });
    assert.match(gone.find((c) => c.status === 'fail')!.detail, /SpotGpu-abc not found/);
  });

  test('an inactive or missing job definition fails', async () => {
    assert.equal(find(await check({ jobDefinition: { status: 'INACTIVE' } }), /job definition/).status, 'fail');
    assert.match(find(await check({ jobDefinition: null }), /job definition/).fix!, /--job-definition/);
  });

  test('an image missing from ECR fails; one outside ECR is a warning; ECR URIs parse by tag and digest', async () => {
    const missing = find(await check({ imageError: 'ImageNotFoundException' }), /image/);
    assert.equal(missing.status, 'fail');
    assert.match(missing.fix!, /npx cdk deploy/);
    assert.equal(find(await check({ imageError: 'RepositoryNotFoundException' }), /image/).status, 'fail');
    assert.equal(find(await check({ imageError: 'AccessDeniedException' }), /image/).status, 'warn');
    assert.equal(find(await check({ jobDefinition: { containerProperties: { image: 'docker.io/library/node:22' } } }), /image/).status, 'warn');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseEcrImage(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/repo@${digest}`), { registryId: ACCOUNT, region: REGION, repositoryName: 'repo', digest });
    assert.equal(parseEcrImage(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/repo`)!.tag, 'latest');
  });

  test('data: missing files, no SHA256SUMS, or one that does not list every file fail with the seed-data command', async () => {
    for (const variant of ['empty', 'no-sums', 'short-sums'] as const) {
      const data = find(await check({}, dataStorage(variant).data), /^data$/);
      assert.equal(data.status, 'fail', variant);
      assert.match(data.fix!, /^npx mixup seed-data --to s3:\/\/mixup-data-123\/fashion-mnist$/);
    }
  });

  test('a Fargate environment (a CPU queue) is checked against the Fargate vCPU quota instead of the G ones', async () => {
    const fargate = `arn:aws:batch:${REGION}:${ACCOUNT}:compute-environment/FargateCpu-abc`;
    const checks = await check({
      queue: { computeEnvironmentOrder: [{ order: 1, computeEnvironment: fargate }] },
      environments: [environment(fargate, 'FARGATE')],
      quotas: { 'L-3032A538': 0 },
    });
    const quota = find(checks, /L-3032A538/);
    assert.equal(quota.status, 'fail');
    assert.match(quota.fix!, /services\/fargate\/quotas\/L-3032A538/);
    assert.equal(checks.some((c) => /L-3819A6DF|L-DB2E81BA/.test(c.name)), false);
  });

  test('an AWS call that fails outright (no credentials) is one JobError line', async () => {
    const broken = createDoctorApi({ batch: { send: async () => { throw new Error('Could not load credentials from any providers'); } } });
    await assert.rejects(runChecks(broken, { stackName: 'S', jobQueueArn: QUEUE, jobDefinitionArn: JOB_DEF, data: null }), (e: unknown) =>
      e instanceof JobError && /^the checks could not reach AWS: Could not load credentials/.test(e.message));
  });
});

const SSM_VALUES: Record<string, string> = {
  '/MixupBatch/job-queue-arn': QUEUE,
  '/MixupBatch/job-definition-arn': JOB_DEF,
  '/MixupBatch/data-bucket': 'mixup-data-123',
  '/MixupBatch/results-bucket': 'mixup-results-123',
};
const ssm: SsmApi = { getParameters: async (names) => Object.fromEntries(names.filter((n) => SSM_VALUES[n]).map((n) => [n, SSM_VALUES[n]!])) };

function doctorDeps(world: World, printed: string[]): DoctorDeps {
  const { opener } = dataStorage();
  return { api: () => createDoctorApi(clients(world)), ssm: () => ssm, openStorage: opener.openStorage, out: (text) => printed.push(text) };
}

describe('the doctor command', () => {
  test("reads the stack's SSM parameters and checks the data under the data bucket", async () => {
    const checks = await doctor({}, doctorDeps({}, []));
    assert.match(find(checks, /^data$/).detail, /^s3:\/\/mixup-data-123\/fashion-mnist: 4 files/);
  });

  test('--queue cpu checks the CPU queue and job definition the stack publishes, as mixup sweep would use them', async () => {
    const cpuQueue = `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/CpuJobQueue-abc`;
    const cpuJobDef = `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/CpuJobDefinition-abc:1`;
    const values: Record<string, string> = { ...SSM_VALUES, '/MixupBatch/cpu-job-queue-arn': cpuQueue, '/MixupBatch/cpu-job-definition-arn': cpuJobDef };
    const asked: string[][] = [];
    const cpuSsm: SsmApi = { getParameters: async (names) => (asked.push([...names]), Object.fromEntries(names.filter((n) => values[n]).map((n) => [n, values[n]!]))) };
    const { opener } = dataStorage();
    const described: string[] = [];
    const api = createDoctorApi(clients({}));
    const spy: typeof api = { ...api, describeJobQueue: async (arn) => (described.push(arn), api.describeJobQueue(arn)) };
    await doctor({ queue: 'cpu' }, { api: () => spy, ssm: () => cpuSsm, openStorage: opener.openStorage, out: () => {} }).catch(() => []);
    assert.ok(asked.flat().includes('/MixupBatch/cpu-job-queue-arn'), JSON.stringify(asked));
    assert.ok(!asked.flat().includes('/MixupBatch/job-queue-arn'), 'the GPU queue is not read for --queue cpu');
    assert.deepEqual(described, [cpuQueue]);
  });

  test('a 0 GPU quota: prints the checklist, exits 1 with one line', async (t) => {
    const printed: string[] = [];
    const program = createProgram('test');
    registerDoctorCommand(program, () => doctorDeps({ quotas: { 'L-3819A6DF': 0, 'L-DB2E81BA': 0 } }, printed));
    const stderr = t.mock.method(process.stderr, 'write', () => true);
    const code = await runProgram(program, ['node', 'mixup', 'doctor']);
    assert.equal(code, 1);
    assert.equal(stderr.mock.calls.length, 1, JSON.stringify(stderr.mock.calls.map((c) => String(c.arguments[0]))));
    assert.match(String(stderr.mock.calls[0]!.arguments[0]), /^mixup: 2 blocker\(s\): jobs would not run until they are fixed\n$/);
    const text = printed.join('');
    assert.match(text, /^\[ok\]   job queue JobQueue-abc: ENABLED\/VALID$/m);
    assert.match(text, /^\[FAIL\] quota L-3819A6DF .*\n {7}fix: request ≥ 64 vCPUs at https:.*L-3819A6DF, or deploy without the spot environment: npx cdk deploy -c spot=false$/m);
    assert.match(text, /^\[FAIL\] quota L-DB2E81BA /m);
    if (process.env.PRINT_DOCTOR) process.stdout.write(`\n${text}`);
  });

  test('is listed in the CLI', async () => {
    const { buildProgram } = await import('../../scripts/cli.js');
    assert.ok((buildProgram() as Command).commands.some((c) => c.name() === 'doctor'));
  });
});

describe('the same checks before mixup sweep submits', () => {
  function sweepDeps(world: World, logs: string[], submitted: unknown[]): SweepDeps {
    const { objects, openStorage } = memoryOpener();
    const { data } = dataStorage();
    void data.list().then(async (listed) => {
      for (const o of listed) objects.set(`s3://mixup-data-123/fashion-mnist/${o.key}`, await data.read(o.key));
    });
    return {
      batch: () => ({
        submitJob: async (input) => { submitted.push(input); return { jobId: 'job-1', jobName: input.jobName, $metadata: {} }; },
        describeJobs: async () => { throw new Error('not expected'); },
        listJobs: async () => [],
      }),
      ssm: () => ssm,
      doctor: () => createDoctorApi(clients(world)),
      openStorage,
      now: () => new Date('2026-12-02T12:00:00Z'),
      spawn: () => { throw new Error('not expected'); },
      cli: { command: 'node', args: [] },
      env: {},
      log: (line) => logs.push(line),
      sleep: async () => {},
    };
  }
  const options = { alphas: [0, 0.2], seeds: [1], sweepId: 's1' };

  test('a blocker stops the sweep before anything is written or submitted, naming --skip-checks', async () => {
    const logs: string[] = [];
    const submitted: unknown[] = [];
    const deps = sweepDeps({ quotas: { 'L-3819A6DF': 0 } }, logs, submitted);
    await assert.rejects(sweep(options, deps), (e: unknown) => e instanceof JobError && /^not submitted: 1 blocker\(s\) above .*--skip-checks/.test(e.message));
    assert.equal(submitted.length, 0);
    assert.ok(logs.some((line) => line.startsWith('[FAIL] quota L-3819A6DF')));
    assert.equal(await (await deps.openStorage('s3://mixup-results-123')).child('sweeps/s1').exists('sweep.json'), false);
  });

  test('--skip-checks submits anyway; a healthy stack submits with no checklist printed', async () => {
    const submitted: unknown[] = [];
    await sweep({ ...options, skipChecks: true }, sweepDeps({ quotas: { 'L-3819A6DF': 0 } }, [], submitted));
    assert.equal(submitted.length, 1);
    const logs: string[] = [];
    await sweep({ ...options, sweepId: 's2' }, sweepDeps({}, logs, submitted));
    assert.equal(submitted.length, 2);
    assert.equal(logs.some((line) => line.startsWith('[')), false, logs.join('\n'));
  });
});
