import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from './support.js';

// GIVEN the stack with cdk.json's defaults, synthesized once for this file
const { app, template, stack } = synthesize();

test('a new VPC is created with no NAT gateway', () => {
  template.resourceCountIs('AWS::EC2::VPC', 1);
  template.resourceCountIs('AWS::EC2::NatGateway', 0);
});

test('the VPC has only public subnets, which give instances a public address', () => {
  const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
  assert.ok(subnets.length >= 2);
  for (const subnet of subnets) assert.equal(subnet.Properties.MapPublicIpOnLaunch, true);
});

test('an S3 gateway endpoint serves the public route tables', () => {
  template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    VpcEndpointType: 'Gateway',
    ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
    RouteTableIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^VpcPublicSubnet1RouteTable') }]),
  });
});

test('rejected traffic is recorded in a VPC flow log', () => {
  template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
});

test('instance security groups accept no inbound traffic', () => {
  for (const group of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
    assert.equal(group.Properties.SecurityGroupIngress, undefined);
  }
});

test('by default the stack is environment-agnostic and synth needs no lookups', () => {
  assert.deepEqual(stack.resolve(stack.account), { Ref: 'AWS::AccountId' });
  assert.equal(app.synth().manifest.missing, undefined);
});

test('without the S3 endpoint option, no endpoint is created', () => {
  const { template: bare } = synthesize({ s3GatewayEndpoint: false });
  bare.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
});

test('with vpcId, the VPC is looked up instead of created', () => {
  // WHEN the account and region are known, as infra/app.ts arranges when vpcId is given
  const { app: lookupApp, template: existing } = synthesize({
    vpcId: 'vpc-0123456789abcdef0',
    env: { account: '123456789012', region: 'us-east-1' },
  });
  // THEN no VPC resource is made, and the synth asks CDK for the VPC's description
  existing.resourceCountIs('AWS::EC2::VPC', 0);
  const missing = lookupApp.synth().manifest.missing ?? [];
  assert.equal(missing.length, 1);
  assert.equal(missing[0]!.provider, 'vpc-provider');
  assert.deepEqual((missing[0]!.props as { filter: unknown }).filter, { 'vpc-id': 'vpc-0123456789abcdef0' });
});
