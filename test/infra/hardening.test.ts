import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Match } from 'aws-cdk-lib/assertions';
import { InstanceClass } from 'aws-cdk-lib/aws-ec2';

import { cliEnvironment } from '../../infra/context.js';
import { IMDS_BLOCK_UNIT } from '../../infra/gpu-hosts.js';
import { CUDA_CACHE, JOB_UID } from '../../infra/props.js';
import { OPERATOR_READ_ANYWHERE } from '../../infra/operator-policy.js';
import { synthesize } from './support.js';

const { template, stack } = synthesize();
const resources = (type: string) => Object.entries(template.findResources(type));
const [launchTemplateId, launchTemplate] = resources('AWS::EC2::LaunchTemplate')[0]!;
const jobDefinition = resources('AWS::Batch::JobDefinition')[0]![1].Properties;

/** The user data as text: the MIME parts of an Fn::Join, the shell part itself under a nested Fn::Base64. */
function userDataText(): string {
  const text = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (Array.isArray(part)) return part.map(text).join('');
    const object = part as Record<string, unknown>;
    if ('Fn::Base64' in object) return text(object['Fn::Base64']);
    if ('Fn::Join' in object) return text((object['Fn::Join'] as [string, unknown[]])[1]);
    return '';
  };
  return text(launchTemplate.Properties.LaunchTemplateData.UserData);
}

test('GPU hosts start from one launch template: IMDSv2 required, hop limit 1, no IPv6 metadata endpoint', () => {
  assert.equal(resources('AWS::EC2::LaunchTemplate').length, 1);
  assert.deepEqual(launchTemplate.Properties.LaunchTemplateData.MetadataOptions, {
    HttpPutResponseHopLimit: 1, HttpTokens: 'required', HttpProtocolIpv6: 'disabled',
  });
  const ec2Environments = resources('AWS::Batch::ComputeEnvironment').filter(([, e]) => ['EC2', 'SPOT'].includes(e.Properties.ComputeResources.Type));
  assert.equal(ec2Environments.length, 2, 'spot and on-demand GPU environments');
  for (const [, environment] of ec2Environments) {
    assert.deepEqual(environment.Properties.ComputeResources.LaunchTemplate.LaunchTemplateId, { Ref: launchTemplateId });
  }
});

test("the hop limit does not isolate a Batch job (host network mode): the hosts reject the job user's packets to IMDS, at every boot", () => {
  const userData = userDataText();
  const rule = `-d 169.254.169.254/32 -m owner --uid-owner ${JOB_UID} -j REJECT`;
  // Installed by a systemd unit (kept across reboots), once, before Docker and the ECS agent start.
  assert.ok(userData.includes(`iptables -w -C OUTPUT ${rule} 2>/dev/null || iptables -w -I OUTPUT 1 ${rule}`), userData);
  assert.ok(userData.includes(`cat > /etc/systemd/system/${IMDS_BLOCK_UNIT} <<'UNIT'`), userData);
  assert.ok(userData.includes(`systemctl enable --now ${IMDS_BLOCK_UNIT}`), userData);
  assert.match(userData, /Before=docker\.service ecs\.service/);
  // Fail closed: without the rule the ECS agent does not start, so the host never takes a job.
  assert.match(userData, /RequiredBy=ecs\.service/);
  assert.match(userData, /systemctl mask --now ecs\.service/);
  // And the job runs as that uid whatever the image says.
  assert.equal(jobDefinition.ContainerProperties.User, String(JOB_UID));
});

test("the launch template's MIME user data makes the host's CUDA cache directory, owned by the image's job user", () => {
  const userData = userDataText();
  assert.match(JSON.stringify(launchTemplate.Properties.LaunchTemplateData.UserData), /Content-Type: multipart\/mixed/);
  assert.ok(userData.includes(`install -d -m 0755 -o ${JOB_UID} -g ${JOB_UID} ${CUDA_CACHE.hostPath}`), userData);
  assert.match(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'), new RegExp(`useradd --uid ${JOB_UID} `));
});

test('the job keeps its CUDA JIT cache on the host (4 GiB), so only the first job per g5/g6 instance compiles', () => {
  const container = jobDefinition.ContainerProperties;
  assert.deepEqual(container.Volumes, [{ Name: 'cuda-cache', Host: { SourcePath: CUDA_CACHE.hostPath } }]);
  assert.deepEqual(container.MountPoints, [{ SourceVolume: 'cuda-cache', ContainerPath: CUDA_CACHE.containerPath }], 'read-write');
  const env = Object.fromEntries((container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
  assert.equal(env.CUDA_CACHE_PATH, CUDA_CACHE.containerPath);
  assert.equal(env.CUDA_CACHE_MAXSIZE, '4294967296');
});

test('g5 and g6 are opt-in, and a stack built from props refuses an 8-GPU class too', () => {
  const { template: opted } = synthesize({ instanceClasses: [InstanceClass.G4DN, InstanceClass.G5, InstanceClass.G6] });
  opted.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ InstanceTypes: ['g4dn.xlarge', 'g5.xlarge', 'g6.xlarge'] }) });
  assert.throws(() => synthesize({ instanceClasses: [InstanceClass.P4D] }), /'instanceClasses': p4d has only an 8-GPU size/);
});

test('the operator policy: SSM under /<stack>/, SubmitJob on both queues and job definitions only, reads, the Spot role, logs, the bucket prefixes', () => {
  const [, policy] = resources('AWS::IAM::ManagedPolicy')[0]!;
  const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
  const byAction = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));
  assert.equal(resources('AWS::IAM::ManagedPolicy').length, 1);
  const submit = byAction('batch:SubmitJob');
  assert.equal(submit.length, 1);
  // Both of the stack's queues (GPU, CPU) with their job definitions, nothing else.
  const sorted = (items: unknown[]) => items.map((item) => JSON.stringify(item)).sort();
  assert.deepEqual(sorted(submit[0]!.Resource as unknown[]), sorted([
    ...resources('AWS::Batch::JobQueue').map(([queueId]) => ({ 'Fn::GetAtt': [queueId, 'JobQueueArn'] })),
    ...resources('AWS::Batch::JobDefinition').map(([definitionId]) => ({ Ref: definitionId })),
  ]));
  assert.equal((submit[0]!.Resource as unknown[]).length, 4);
  assert.match(JSON.stringify(byAction('ssm:GetParameters')[0]!.Resource), /parameter\/MixupBatch\/\*/);
  for (const action of OPERATOR_READ_ANYWHERE) assert.deepEqual(byAction(action)[0]!.Resource, '*', action);
  assert.match(JSON.stringify(byAction('ecr:DescribeImages')[0]!.Resource), /repository\/cdk-\*-container-assets-/);
  assert.equal(byAction('logs:GetLogEvents').length, 1);
  assert.equal(byAction('s3:DeleteObject').length, 1, 'only under sweeps/');
  assert.match(JSON.stringify(byAction('s3:DeleteObject')[0]!.Resource), /\/sweeps\/\*/);
  for (const s of statements) assert.notDeepEqual(s.Action, '*');
  assert.equal(statements.some((s) => ([] as string[]).concat(s.Action).some((a) => /^(iam:(?!GetRole$)|batch:(Create|Delete|Update)|s3:\*)/.test(a))), false);
  // doctor reads one IAM role, EC2's Spot service-linked role, and nothing else of IAM.
  assert.deepEqual(byAction('iam:GetRole').map((s) => [s.Action, JSON.stringify(s.Resource)]), [[
    'iam:GetRole',
    JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot']] }),
  ]]);
});

test('the operator policy is output by name and ARN', () => {
  const policyId = resources('AWS::IAM::ManagedPolicy')[0]![0];
  // The name is the last part of the policy's ARN (its Ref).
  assert.ok(JSON.stringify(template.findOutputs('OperatorPolicyName')).includes(`{"Ref":"${policyId}"}`));
  template.hasOutput('OperatorPolicyArn', Match.anyValue());
  assert.ok(stack.operatorPolicy);
});

test('with the CLI environment (account and region) the VPC spans 3 AZs; without credentials it is agnostic', () => {
  assert.deepEqual(cliEnvironment({ CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' }), { account: '123456789012', region: 'eu-west-1' });
  assert.equal(cliEnvironment({ CDK_DEFAULT_ACCOUNT: '', CDK_DEFAULT_REGION: 'eu-west-1' }), undefined);
  const { template: located } = synthesize({ env: { account: '123456789012', region: 'eu-west-1' } });
  assert.equal(Object.keys(located.findResources('AWS::EC2::Subnet')).length, 3);
  assert.equal(Object.keys(template.findResources('AWS::EC2::Subnet')).length, 2, 'agnostic: 2 AZs, no lookups');
});
