/**
 * Deploys the CDK app's synthesized template to moto by creating the template's own resources through
 * the service APIs, with the template's own properties: moto's CloudFormation cannot take this template
 * (its Batch compute environment handler demands a ServiceRole and an upper-case Type, and it resolves
 * no Fn::GetAtt of Batch resources, which the queue and the SSM parameters need).
 *
 * Created from the template: the S3 buckets (with their versioning), the log groups (with retention),
 * the IAM roles (with their trust policies), the job queue (priority, state, order, time-limit actions),
 * the job definition (every property: container, retry strategy, timeout, …) and the SSM parameters.
 * Stood in: each GPU compute environment becomes an UNMANAGED one of the same name (no GPU instance
 * can exist here; moto runs jobs on the local Docker engine whatever the environment), and the job
 * definition's GPU-only parts (MIXUP_REQUIRE_GPU, the CUDA cache host volume). Not created:
 * the types in `NOT_CREATED`, none of which a job's run depends on in the emulator.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  RegisterJobDefinitionCommand,
} from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, CreateLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

import { MOTO_ACCOUNT, MOTO_REGION, type MotoServer } from './moto-server.js';

const run = promisify(execFile);

/** Template types not deployed to the emulator, and why they do not matter there. */
export const NOT_CREATED: Readonly<Record<string, string>> = {
  'AWS::EC2::VPC': 'the stand-in compute environments need no network',
  'AWS::EC2::Subnet': 'as above',
  'AWS::EC2::RouteTable': 'as above',
  'AWS::EC2::SubnetRouteTableAssociation': 'as above',
  'AWS::EC2::Route': 'as above',
  'AWS::EC2::InternetGateway': 'as above',
  'AWS::EC2::VPCGatewayAttachment': 'as above',
  'AWS::EC2::VPCEndpoint': 'as above',
  'AWS::EC2::FlowLog': 'as above',
  'AWS::EC2::SecurityGroup': 'as above',
  'AWS::IAM::Policy': 'moto does not enforce IAM',
  'AWS::IAM::ManagedPolicy': 'the operator policy is for people; moto does not enforce IAM',
  'AWS::EC2::LaunchTemplate': 'the stand-in compute environments launch no instances (IMDS settings, host directories)',
  'AWS::IAM::InstanceProfile': 'no instances launch',
  'AWS::S3::BucketPolicy': 'moto does not enforce bucket policies (TLS-only access)',
  'Custom::VpcRestrictDefaultSG': 'a Lambda-backed custom resource on the VPC',
  'AWS::Lambda::Function': "the custom resource's handler",
  'AWS::CDK::Metadata': 'CDK version reporting',
};

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface Template {
  readonly Resources: Record<string, Resource>;
}

export interface DeployedStack {
  /** Physical id (Ref) per logical id of everything created. */
  readonly physical: Readonly<Record<string, string>>;
  /**
   * The queue the test sweeps on, its job definition and the image URI that names (the DockerImageAsset's
   * ECR URI): the CPU (Fargate) queue, which runs the CPU image the tests build, when the stack has it.
   */
  readonly queue: 'gpu' | 'cpu';
  readonly imageUri: string;
  readonly jobQueueArn: string;
  readonly jobDefinitionArn: string;
  readonly buckets: readonly string[];
  /** Template types that were not created, with their counts. */
  readonly skipped: Readonly<Record<string, number>>;
}

const CREATE_ORDER = [
  'AWS::IAM::Role',
  'AWS::S3::Bucket',
  'AWS::Logs::LogGroup',
  'AWS::Batch::ComputeEnvironment',
  'AWS::Batch::JobQueue',
  'AWS::Batch::JobDefinition',
  'AWS::SSM::Parameter',
];

export async function readTemplate(file: string): Promise<Template> {
  return JSON.parse(await readFile(file, 'utf8')) as Template;
}

/**
 * Like the compute environments, what only a GPU host has is stood in: moto runs the jobs on this
 * machine's CPU, where MIXUP_REQUIRE_GPU=1 would (rightly) refuse every one, and the CUDA JIT cache's
 * host directory (made by the GPU hosts' launch template) does not exist, so moto's bind mount would
 * fail. The rest of the definition is kept.
 */
function withoutGpuRequirement(props: Record<string, any>): Record<string, any> {
  const container = props.ContainerProperties;
  if (!container) return props;
  const Environment = (container.Environment ?? []).map((e: { Name: string; Value: unknown }) => (e.Name === 'MIXUP_REQUIRE_GPU' ? { ...e, Value: '0' } : e));
  const { Volumes: _volumes, MountPoints: _mounts, ...rest } = container;
  return { ...props, ContainerProperties: { ...rest, Environment } };
}

export async function deployToMoto(template: Template, stackName: string, moto: MotoServer): Promise<DeployedStack> {
  const config = { endpoint: moto.endpoint, region: MOTO_REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const batch = new BatchClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const ssm = new SSMClient(config);
  const logs = new CloudWatchLogsClient(config);
  const aws = (args: string[]) => run('aws', ['--endpoint-url', moto.endpoint, '--output', 'json', ...args], { env: { ...process.env, ...moto.env } });

  const physical: Record<string, string> = {};
  const attributes: Record<string, Record<string, string>> = {};
  const resolve = resolver(physical, attributes);
  const suffix = () => randomBytes(4).toString('hex');
  const skipped: Record<string, number> = {};
  for (const resource of Object.values(template.Resources)) {
    if (!CREATE_ORDER.includes(resource.Type)) skipped[resource.Type] = (skipped[resource.Type] ?? 0) + 1;
  }
  const unknown = Object.keys(skipped).filter((type) => !(type in NOT_CREATED));
  if (unknown.length > 0) throw new Error(`the template has resource types this deployer neither creates nor knows to skip: ${unknown.join(', ')}`);

  let serviceRoleArn: string | undefined;
  const images: Record<string, string> = {};
  for (const type of CREATE_ORDER) {
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== type) continue;
      // A role needs only its trust policy here (moto enforces no permissions); its inline policies
      // may name resources that are not created, such as the VPC's default security group.
      // A stand-in compute environment takes only its name and state: its compute resources (instance
      // profile, subnets, security groups) are not created.
      const wanted =
        type === 'AWS::IAM::Role'
          ? { AssumeRolePolicyDocument: resource.Properties?.AssumeRolePolicyDocument }
          : type === 'AWS::Batch::ComputeEnvironment'
            ? { ComputeEnvironmentName: resource.Properties?.ComputeEnvironmentName, State: resource.Properties?.State }
            : resource.Properties;
      const props = (resolve(wanted ?? {}) ?? {}) as Record<string, any>;
      switch (type) {
        case 'AWS::IAM::Role': {
          const name = `${stackName}-${id}`.slice(0, 64);
          const out = await aws(['iam', 'create-role', '--role-name', name, '--assume-role-policy-document', JSON.stringify(props.AssumeRolePolicyDocument)]);
          const arn = (JSON.parse(out.stdout) as { Role: { Arn: string } }).Role.Arn;
          physical[id] = name;
          attributes[id] = { Arn: arn };
          break;
        }
        case 'AWS::S3::Bucket': {
          const name = `${stackName}-${id}-${suffix()}`.toLowerCase().slice(0, 63);
          await s3.send(new CreateBucketCommand({ Bucket: name }));
          if (props.VersioningConfiguration?.Status) {
            await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: props.VersioningConfiguration.Status } }));
          }
          physical[id] = name;
          attributes[id] = { Arn: `arn:aws:s3:::${name}` };
          break;
        }
        case 'AWS::Logs::LogGroup': {
          const name = props.LogGroupName ?? `${stackName}-${id}-${suffix()}`;
          await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
          if (props.RetentionInDays) await logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: props.RetentionInDays }));
          physical[id] = name;
          attributes[id] = { Arn: `arn:aws:logs:${MOTO_REGION}:${MOTO_ACCOUNT}:log-group:${name}:*` };
          break;
        }
        case 'AWS::Batch::ComputeEnvironment': {
          // moto wants a service role that exists; AWS uses its service-linked role when none is given.
          serviceRoleArn ??= JSON.parse(
            (await aws(['iam', 'create-role', '--role-name', `${stackName}-BatchServiceStandIn`, '--assume-role-policy-document', '{}'])).stdout,
          ).Role.Arn as string;
          const name = props.ComputeEnvironmentName ?? `${stackName}-${id}`;
          await batch.send(new CreateComputeEnvironmentCommand({
            computeEnvironmentName: name,
            type: 'UNMANAGED',
            state: props.State,
            serviceRole: serviceRoleArn,
          }));
          const described = await batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [name] }));
          const arn = described.computeEnvironments![0]!.computeEnvironmentArn!;
          physical[id] = arn;
          attributes[id] = { ComputeEnvironmentArn: arn };
          break;
        }
        case 'AWS::Batch::JobQueue': {
          const created = await batch.send(new CreateJobQueueCommand({
            jobQueueName: props.JobQueueName ?? `${stackName}-${id}`,
            ...(camel(props) as object),
          } as never));
          physical[id] = created.jobQueueArn!;
          attributes[id] = { JobQueueArn: created.jobQueueArn! };
          break;
        }
        case 'AWS::Batch::JobDefinition': {
          const created = await batch.send(new RegisterJobDefinitionCommand({
            jobDefinitionName: props.JobDefinitionName ?? `${id}-${suffix()}`,
            ...(camel(withoutGpuRequirement(props)) as object),
          } as never));
          images[id] = props.ContainerProperties?.Image;
          physical[id] = created.jobDefinitionArn!;
          attributes[id] = { JobDefinitionArn: created.jobDefinitionArn! };
          break;
        }
        case 'AWS::SSM::Parameter': {
          await ssm.send(new PutParameterCommand({ Name: props.Name, Type: props.Type, Value: props.Value, Description: props.Description }));
          physical[id] = props.Name;
          break;
        }
      }
    }
  }
  for (const client of [batch, s3, ssm, logs]) client.destroy();
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => physical[id]!);
  // The CPU path: the job definition for Fargate, and the queue whose compute environments are Fargate ones.
  const ids = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  const isFargate = (id: string) => /^FARGATE/.test(String((template.Resources[id]?.Properties?.ComputeResources as { Type?: string } | undefined)?.Type ?? ''));
  const cpuDefinition = ids('AWS::Batch::JobDefinition').find((id) =>
    (template.Resources[id]!.Properties?.PlatformCapabilities as string[] | undefined)?.includes('FARGATE'));
  const cpuQueue = ids('AWS::Batch::JobQueue').find((id) =>
    ((template.Resources[id]!.Properties?.ComputeEnvironmentOrder ?? []) as { ComputeEnvironment: { 'Fn::GetAtt': [string, string] } }[])
      .some((entry) => isFargate(entry.ComputeEnvironment['Fn::GetAtt'][0])));
  const queueId = cpuQueue && cpuDefinition ? cpuQueue : ids('AWS::Batch::JobQueue')[0];
  const definitionId = cpuQueue && cpuDefinition ? cpuDefinition : ids('AWS::Batch::JobDefinition')[0];
  const imageUri = definitionId ? images[definitionId] : undefined;
  if (!queueId || !definitionId || !imageUri) throw new Error('the template has no job queue, job definition or image');
  return {
    queue: cpuQueue && cpuDefinition ? 'cpu' : 'gpu',
    physical,
    imageUri,
    jobQueueArn: physical[queueId]!,
    jobDefinitionArn: physical[definitionId]!,
    buckets: ofType('AWS::S3::Bucket'),
    skipped,
  };
}

/** Ref, Fn::GetAtt, Fn::Join and Fn::Sub over what has been created; anything else unresolved is an error. */
function resolver(physical: Record<string, string>, attributes: Record<string, Record<string, string>>) {
  const pseudo: Record<string, string> = {
    'AWS::Region': MOTO_REGION,
    'AWS::AccountId': MOTO_ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const ref = (name: string): string => {
    const value = pseudo[name] ?? physical[name];
    if (value === undefined) throw new Error(`Ref ${name}: not created (yet)`);
    return value;
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      if (key === 'Ref') return ref(arg as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        const found = attributes[id]?.[attribute];
        if (found === undefined) throw new Error(`Fn::GetAtt ${id}.${attribute}: not available`);
        return found;
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(separator);
      }
      if (key === 'Fn::Sub') {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        const local = resolve(vars) as Record<string, string>;
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => local[name] ?? ref(name));
      }
      if (key.startsWith('Fn::')) throw new Error(`${key} is not supported by this deployer`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

/** CloudFormation's PascalCase property names to the API's camelCase (map keys such as log options are already lower-case). */
function camel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camel);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key.charAt(0).toLowerCase() + key.slice(1), camel(v)]));
}
