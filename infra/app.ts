import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readContext } from './context.js';
import { MixupBatchStack } from './stack.js';

const app = new App();
const { stackName, props } = readContext((key) => app.node.tryGetContext(key));
new MixupBatchStack(app, stackName, {
  ...props,
  // Environment-agnostic unless an existing VPC must be looked up, so synth needs no credentials.
  env: props.vpcId ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
  description: 'mixup-batch: scale-to-zero GPU AWS Batch queue for the MixUp experiment',
  tags: { project: 'mixup-batch' },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
