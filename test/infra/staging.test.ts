import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MixupBatchStack } from '../../infra/stack.js';
import { CDK_JSON_CONTEXT } from './support.js';

function sizeOf(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size;
  return readdirSync(path).reduce((total, name) => total + sizeOf(join(path, name)), 0);
}

test('synth with the repository Dockerfile stages a small image context without node_modules', () => {
  // GIVEN the app as infra/app.ts builds it, with the real repository root as the image directory
  const outdir = mkdtempSync(join(tmpdir(), 'mixup-infra-stage-'));
  const app = new App({ outdir, context: CDK_JSON_CONTEXT, builtinCloudFormationValidation: false });
  new MixupBatchStack(app, 'MixupBatch');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  // WHEN it is synthesized (cdk-nag runs as a validation plugin and throws on any finding)
  const started = Date.now();
  const assembly = app.synth();
  const seconds = (Date.now() - started) / 1000;

  // THEN two Docker image assets (the GPU image and the CPU one, from the same Dockerfile) are staged, each holding the Dockerfile and the sources but no
  // node_modules, .git or cdk.out, in well under a second of copying
  const assetsFile = join(assembly.directory, 'MixupBatch.assets.json');
  const images = Object.values(JSON.parse(readFileSync(assetsFile, 'utf8')).dockerImages) as { source: { directory: string } }[];
  assert.equal(images.length, 2);
  for (const image of images) {
    const staged = join(outdir, image.source.directory);
    assert.ok(existsSync(join(staged, 'Dockerfile')), 'Dockerfile staged');
    for (const unwanted of ['node_modules', '.git', 'cdk.out', 'runs', 'dist']) {
      assert.ok(!existsSync(join(staged, unwanted)), `${unwanted} must not be staged`);
    }
    assert.ok(sizeOf(staged) < 5 * 1024 * 1024, `staged context is ${sizeOf(staged)} bytes`);
  }
  assert.ok(seconds < 60, `synth took ${seconds} s`);
});
