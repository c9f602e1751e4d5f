/**
 * Names shared by the CDK stack (which writes them) and the CLI (which reads them), so that
 * `mixup sweep` and `mixup results` find the deployed resources with no flags.
 */
export const DEFAULT_STACK_NAME = 'MixupBatch';

/** SSM parameter names, under `/<stack-name>/`. */
export const SSM_PARAMETERS = {
  jobQueueArn: 'job-queue-arn',
  jobDefinitionArn: 'job-definition-arn',
  dataBucket: 'data-bucket',
  resultsBucket: 'results-bucket',
} as const;

export function ssmParameterName(stackName: string, key: keyof typeof SSM_PARAMETERS): string {
  return `/${stackName}/${SSM_PARAMETERS[key]}`;
}


/** Set to 1 in the GPU job definition: the job refuses to train without a usable GPU (job/backend/device.ts). */
export const REQUIRE_GPU_ENV = 'MIXUP_REQUIRE_GPU';
