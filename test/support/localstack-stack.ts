/**
 * Deploys the CDK app's synthesized template to LocalStack with LocalStack's own CloudFormation, as
 * `aws cloudformation create-stack` does on AWS: the template's S3 buckets (and their policies), SSM
 * parameters, IAM roles, policies and instance profiles and CloudWatch log groups, with the template's
 * own properties, names and references.
 *
 * The rest is cut out, each for a stated reason (`CUT`): the Batch resources (LocalStack's free
 * edition has no Batch; moto runs them, test/support/moto-stack.ts) become template parameters of the
 * same logical id, so the SSM parameters and the operator policy that name them hold the ARNs the
 * caller passes (moto's); the network and its Lambda-backed custom resource are not needed by anything
 * kept. A kept resource that references a cut one (other than Batch) is cut too and reported.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { LocalStack } from './localstack.js';

const run = promisify(execFile);
const DEPLOY_TIMEOUT_MS = 180_000;
/** Debian's aws CLI when installed (CI installs it), otherwise whatever `aws` is on PATH. */
const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** The resource types LocalStack's CloudFormation creates here. */
export const DEPLOYED_TYPES: readonly string[] = [
  'AWS::S3::Bucket',
  'AWS::S3::BucketPolicy',
  'AWS::SSM::Parameter',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::InstanceProfile',
  'AWS::Logs::LogGroup',
];

/** Why the other types in the template are not deployed to LocalStack. */
export const CUT: Readonly<Record<string, string>> = {
  'AWS::Batch::ComputeEnvironment': "not in LocalStack's free edition; moto's Batch runs the jobs (its ARNs come in as parameters)",
  'AWS::Batch::JobQueue': 'as above',
  'AWS::Batch::JobDefinition': 'as above',
  'AWS::EC2::VPC': 'the network only serves the Batch compute environments',
  'AWS::EC2::Subnet': 'as above',
  'AWS::EC2::RouteTable': 'as above',
  'AWS::EC2::SubnetRouteTableAssociation': 'as above',
  'AWS::EC2::Route': 'as above',
  'AWS::EC2::InternetGateway': 'as above',
  'AWS::EC2::VPCGatewayAttachment': 'as above',
  'AWS::EC2::VPCEndpoint': 'as above',
  'AWS::EC2::FlowLog': 'as above',
  'AWS::EC2::SecurityGroup': 'as above',
  'AWS::EC2::LaunchTemplate': 'the GPU hosts launch no instances here',
  'Custom::VpcRestrictDefaultSG': "a Lambda-backed custom resource on the VPC's default security group",
  'AWS::Lambda::Function': "the custom resource's handler",
  'AWS::CDK::Metadata': 'CDK version reporting',
};

/** The parts of a resource this deployer reads; the rest (Metadata, DeletionPolicy, …) is kept as it is. */
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface Template {
  readonly Description?: string;
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export interface LocalStackTemplate {
  readonly template: Template & { readonly AWSTemplateFormatVersion: string; readonly Parameters: Record<string, unknown> };
  /** The Batch logical ids that became parameters. */
  readonly parameters: readonly string[];
  /** Logical ids not deployed, with their type. */
  readonly cut: Readonly<Record<string, string>>;
}

/** The part of the template LocalStack deploys; `batchIds` are the Batch resources turned into parameters. */
export function localStackTemplate(template: Template): LocalStackTemplate {
  const resources = template.Resources;
  const unknown = [...new Set(Object.values(resources).map((r) => r.Type))].filter((type) => !DEPLOYED_TYPES.includes(type) && !(type in CUT));
  if (unknown.length > 0) throw new Error(`the template has resource types this deployer neither deploys nor knows to cut: ${unknown.join(', ')}`);
  const parameters = Object.keys(resources).filter((id) => resources[id]!.Type.startsWith('AWS::Batch::'));
  const kept = new Set(Object.keys(resources).filter((id) => DEPLOYED_TYPES.includes(resources[id]!.Type)));
  // Cut what references something neither kept nor a parameter, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of kept) {
      if ([...referencedIds(resources[id]!.Properties)].some((ref) => ref in resources && !kept.has(ref) && !parameters.includes(ref))) {
        kept.delete(id);
        changed = true;
      }
    }
  }
  const asParameter = (value: unknown): unknown => rewrite(value, parameters);
  const out: Record<string, Resource> = {};
  for (const id of kept) {
    const { DependsOn, ...resource } = resources[id]!;
    const depends = (DependsOn === undefined ? [] : ([] as string[]).concat(DependsOn)).filter((dep) => kept.has(dep));
    out[id] = { ...(asParameter(resource) as Resource), ...(depends.length ? { DependsOn: depends } : {}) };
  }
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {})
      .filter(([, output]) => [...referencedIds(output.Value)].every((ref) => !(ref in resources) || kept.has(ref) || parameters.includes(ref)))
      .map(([name, output]) => [name, asParameter(output) as { Value: unknown }]),
  );
  return {
    // No Rules, Conditions or CDK bootstrap parameter: they check the CDK bootstrap stack, which a
    // template deployed without `cdk deploy` does not need.
    template: {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: template.Description,
      Parameters: Object.fromEntries(parameters.map((id) => [id, { Type: 'String', Description: `${resources[id]!.Type} (moto)` }])),
      Resources: out,
      Outputs: outputs,
    },
    parameters,
    cut: Object.fromEntries(Object.keys(resources).filter((id) => !kept.has(id) && !parameters.includes(id)).map((id) => [id, resources[id]!.Type])),
  };
}

/** Logical ids a value references through Ref, Fn::GetAtt or Fn::Sub. */
function referencedIds(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => referencedIds(v, found));
  else if (value !== null && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value)) {
      if (key === 'Ref' && typeof arg === 'string') found.add(arg);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(arg) ? String(arg[0]) : String(arg).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : (arg as [string, unknown])[0];
        for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) found.add(match[1]!.split('.')[0]!);
        if (typeof arg !== 'string') referencedIds((arg as [string, unknown])[1], found);
      } else referencedIds(arg, found);
    }
  }
  return found;
}

/** Fn::GetAtt of a parameterised resource becomes a Ref of its parameter (a Batch queue's Ref and ARN are the same). */
function rewrite(value: unknown, parameters: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, parameters));
  if (value === null || typeof value !== 'object') return value;
  const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt) && parameters.includes(String(getAtt[0]))) return { Ref: getAtt[0] };
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, rewrite(v, parameters)]));
}

export interface LocalStackDeployment {
  readonly stackName: string;
  /** Physical id per logical id, from DescribeStackResources. */
  readonly physical: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly cut: Readonly<Record<string, string>>;
  readonly seconds: number;
}

/**
 * `aws cloudformation create-stack` with the LocalStack part of the template, then waits for
 * CREATE_COMPLETE (a failure names each failed resource and its reason). `batchArns` gives each Batch
 * logical id's ARN.
 */
export async function deployToLocalStack(
  template: Template,
  stackName: string,
  localstack: LocalStack,
  batchArns: Readonly<Record<string, string>>,
  workDir: string = os.tmpdir(),
): Promise<LocalStackDeployment> {
  const started = performance.now();
  const part = localStackTemplate(template);
  const missing = part.parameters.filter((id) => !batchArns[id]);
  if (missing.length > 0) throw new Error(`no ARN given for ${missing.join(', ')}`);
  const file = path.join(workDir, `${stackName}.localstack.template.json`);
  await writeFile(file, JSON.stringify(part.template, null, 1));
  const aws = async (args: string[]) =>
    JSON.parse(
      (await run(AWS, ['--endpoint-url', localstack.endpoint, '--output', 'json', 'cloudformation', ...args], { env: { ...process.env, ...localstack.env, AWS_PAGER: '' } }))
        .stdout || '{}',
    );
  // A shared LocalStack may hold the stack from an earlier run; its SSM parameter names are fixed.
  const existing = await aws(['list-stacks']).then((listed) =>
    (listed.StackSummaries as { StackName: string; StackStatus: string }[]).some((s) => s.StackName === stackName && s.StackStatus !== 'DELETE_COMPLETE'));
  if (existing) {
    await aws(['delete-stack', '--stack-name', stackName]);
    await waitFor(async () => !(await aws(['list-stacks'])).StackSummaries.some((s: { StackName: string; StackStatus: string }) => s.StackName === stackName && s.StackStatus !== 'DELETE_COMPLETE'));
  }
  await aws([
    'create-stack', '--stack-name', stackName, '--template-body', `file://${file}`,
    '--capabilities', 'CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM',
    ...(part.parameters.length ? ['--parameters', ...part.parameters.map((id) => `ParameterKey=${id},ParameterValue=${batchArns[id]}`)] : []),
  ]);
  const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
  for (;;) {
    const stack = (await aws(['describe-stacks', '--stack-name', stackName])).Stacks[0] as {
      StackStatus: string;
      Outputs?: { OutputKey: string; OutputValue: string }[];
    };
    if (stack.StackStatus === 'CREATE_COMPLETE') {
      const resources = (await aws(['describe-stack-resources', '--stack-name', stackName])).StackResources as { LogicalResourceId: string; PhysicalResourceId: string }[];
      return {
        stackName,
        physical: Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId])),
        outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue])),
        cut: part.cut,
        seconds: (performance.now() - started) / 1000,
      };
    }
    if (!stack.StackStatus.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      const events = (await aws(['describe-stack-events', '--stack-name', stackName])).StackEvents as {
        LogicalResourceId: string;
        ResourceStatus: string;
        ResourceStatusReason?: string;
      }[];
      const failed = events.filter((e) => e.ResourceStatus.endsWith('_FAILED')).map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
      throw new Error(`stack ${stackName} is ${stack.StackStatus}${failed.length ? `:\n${failed.join('\n')}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not done within ${DEPLOY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
