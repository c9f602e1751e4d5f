import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/** Runs infra/app.ts the way the CDK CLI does: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR. */
function runApp(context: Record<string, unknown>, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'mixup-infra-app-')),
      CDK_DEFAULT_ACCOUNT: '',
      CDK_DEFAULT_REGION: '',
      ...env,
    },
  });
}

test('bad context values exit 2 with one line per problem and no stack trace', () => {
  // WHEN
  const result = runApp({ spot: 'maybe', maxvCpus: 'x' });
  // THEN
  assert.equal(result.status, 2);
  assert.equal(result.stderr.trim(), [
    'invalid CDK context (-c key=value or cdk.json):',
    `  'maxvCpus' = "x"; must be a whole number`,
    `  'spot' = "maybe"; must be true or false`,
  ].join('\n'));
});

test('an existing VPC without credentials is refused with what to do next', () => {
  const result = runApp({ vpcId: 'vpc-0123456789abcdef0' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /'vpcId' is set, so the VPC must be looked up, but no AWS account\/region was found; configure credentials/);
});
