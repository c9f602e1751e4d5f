import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { MixupBatchStackProps } from '../../infra/props.js';
import { MixupBatchStack } from '../../infra/stack.js';

/** The context `npx cdk synth` runs with: the feature flags in `cdk.json` (option defaults are the stack's own). */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/**
 * A one-line Dockerfile in a temporary directory: staging the real repository is the job of the synth
 * test, and these tests must not depend on the container engineer's files.
 */
export function tinyImageDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixup-infra-image-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
  return dir;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: MixupBatchStack;
  readonly template: Template;
}

/**
 * Builds the stack the way `infra/app.ts` does, with `cdk.json`'s context. CloudFormation schema
 * validation (a WebAssembly engine that takes seconds to start) is left to the synth test.
 */
export function synthesize(props: MixupBatchStackProps = {}, appProps: AppProps = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'mixup-infra-out-'));
  mkdirSync(outdir, { recursive: true });
  const app = new App({
    outdir,
    context: { ...CDK_JSON_CONTEXT, ...appProps.context },
    builtinCloudFormationValidation: false,
    ...appProps,
  });
  const stack = new MixupBatchStack(app, 'MixupBatch', { imageDirectory: tinyImageDirectory(), ...props });
  return { app, stack, template: Template.fromStack(stack) };
}
