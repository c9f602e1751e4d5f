/**
 * The import rules `npm test` enforces (test/run-all.sh runs `npm run lint:deps`): imports run one way,
 * scripts/ → job/ ← infra/, and job/shared/ — the names all three agree on — depends on nothing
 * heavier than itself, so the stack and the commands can import it without loading TensorFlow.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one module; split out what both need.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'job-not-to-scripts',
      severity: 'error',
      comment: "The container's program must not load the user's commands (sweep, results, seed-data).",
      from: { path: '^job/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'job-not-to-reference',
      comment: 'reference/ holds the Keras example and the tools that compare the job with it; the job never needs them.',
      severity: 'error',
      from: { path: '^job/' },
      to: { path: '^reference/' },
    },
    {
      name: 'job-not-to-infra',
      severity: 'error',
      comment: 'The job knows nothing of the CDK stack; shared names live in job/shared/.',
      from: { path: '^job/' },
      to: { path: '^infra/' },
    },
    {
      name: 'infra-not-to-scripts',
      severity: 'error',
      comment: "The stack takes shared names from job/shared/, not from the user's commands.",
      from: { path: '^infra/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'job-not-to-batch-or-ssm',
      severity: 'error',
      comment: 'The image leaves out the Batch, SSM, ECR, Service Quotas, CloudWatch Logs and IAM SDKs (Dockerfile); only the commands submit, look up and check.',
      from: { path: '^job/' },
      to: { path: '@aws-sdk/client-(batch|ssm|ecr|service-quotas|cloudwatch-logs|iam)' },
    },
    {
      name: 'shared-stays-light',
      severity: 'error',
      comment: 'job/shared/ is imported by the stack and the commands: only itself, errors.ts, Node and zod.',
      from: { path: '^job/shared/' },
      to: { pathNot: ['^job/shared/', '^job/errors\\.ts$', '^node:', 'node_modules/zod/'], dependencyTypesNot: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still two modules that cannot be read apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
