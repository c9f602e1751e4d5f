import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { UsageError } from '../job/errors.js';
import { cliEnvironment, readContext } from './context.js';
import { MixupBatchStack } from './stack.js';

const app = new App();
try {
  const { stackName, props } = readContext((key) => app.node.tryGetContext(key));
  new MixupBatchStack(app, stackName, {
    ...props,
    env: props.vpcId ? lookupEnvironment() : cliEnvironment(),
    description: 'mixup-batch: scale-to-zero GPU and Fargate (CPU) AWS Batch queues for the MixUp experiment',
    tags: { project: 'mixup-batch' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = error.exitCode;
}

/**
 * The stack stays environment-agnostic (synth needs no credentials) unless an existing VPC must be
 * looked up, which needs the account and region the CLI found in the credentials.
 */
function lookupEnvironment() {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  if (!account || !region) {
    throw new UsageError(
      `'vpcId' is set, so the VPC must be looked up, but no AWS account/region was found; ` +
      'configure credentials (e.g. AWS_PROFILE) or drop -c vpcId to create a new VPC',
    );
  }
  return { account, region };
}
