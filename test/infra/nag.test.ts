import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { MixupBatchStackProps } from '../../infra/props.js';
import { synthesize } from './support.js';

interface Finding {
  readonly rule: string;
  readonly path: string;
}

function findings(props: MixupBatchStackProps, honourAcknowledgements: boolean): Finding[] {
  const { app, stack } = synthesize(props);
  const pack = new AwsSolutionsChecks(app);
  if (!honourAcknowledgements) {
    // isAcknowledged is private in the typings; overriding it shows what the acknowledgements hide.
    Object.assign(pack, { isAcknowledged: () => false });
  }
  return pack.validateScope(stack).violations.flatMap((v) =>
    v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

/** The acknowledgements recorded on the construct tree: rule id, construct path and reason. */
function acknowledgements(root: IConstruct): { rule: string; path: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) => construct.node.metadata
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((entry) => Object.entries(entry.data as Record<string, string>)
      .map(([rule, reason]) => ({ rule: rule.replace(/^annotation::/i, ''), path: construct.node.path, reason }))));
}

const VARIANTS: [string, MixupBatchStackProps][] = [
  ['the defaults', {}],
  ['auto-deleted buckets', { autoDeleteBuckets: true }],
  ['spot only', { onDemand: false }],
  ['on-demand only', { spot: false }],
  ['no S3 endpoint', { s3GatewayEndpoint: false }],
  ['CPU queue only', { gpu: false }],
  ['GPU queue only', { cpu: false }],
];

for (const [name, props] of VARIANTS) {
  test(`cdk-nag AwsSolutions reports no unacknowledged finding, with ${name}`, () => {
    // WHEN
    const open = findings(props, true);
    // THEN
    assert.deepEqual(open, []);
  });
}

test('every acknowledgement matches a real finding, and every finding is acknowledged', () => {
  // GIVEN what cdk-nag finds with acknowledgements ignored
  const raw = findings({}, false);
  assert.ok(raw.length > 0, 'with acknowledgements ignored, cdk-nag has findings');
  // WHEN the acknowledgements of the same stack are collected
  const { stack } = synthesize();
  const acknowledged = acknowledgements(stack).filter((a) => a.rule.startsWith('AwsSolutions-'));
  // THEN each acknowledgement covers at least one finding at or below its construct, and none is left over
  for (const a of acknowledged) {
    assert.ok(raw.some((f) => f.rule === a.rule && f.path.startsWith(a.path)), `stale acknowledgement ${a.rule} on ${a.path}`);
  }
  for (const f of raw) {
    assert.ok(acknowledged.some((a) => a.rule === f.rule && f.path.startsWith(a.path)), `unacknowledged ${f.rule} on ${f.path}`);
  }
});

test('every acknowledgement carries a reason of at least one sentence', () => {
  const { stack } = synthesize({ autoDeleteBuckets: true });
  const all = acknowledgements(stack);
  assert.ok(all.length > 0);
  for (const a of all) assert.ok(a.reason.trim().length >= 40, `${a.rule} on ${a.path}: reason "${a.reason}"`);
});

test('the CDK itself reports no warning or error on the stack', () => {
  const { stack } = synthesize();
  const annotations = Annotations.fromStack(stack);
  assert.deepEqual(annotations.findWarning('*', Match.anyValue()), []);
  assert.deepEqual(annotations.findError('*', Match.anyValue()), []);
});
