/**
 * Names shared by the CDK stack (which writes them) and the CLI (which reads them), so that
 * `mixup sweep` and `mixup results` find the deployed resources with no flags.
 */
export const DEFAULT_STACK_NAME = 'MixupBatch';

/** SSM parameter names, under `/<stack-name>/`. The GPU queue keeps the names it had before the CPU one existed. */
export const SSM_PARAMETERS = {
  jobQueueArn: 'job-queue-arn',
  jobDefinitionArn: 'job-definition-arn',
  cpuJobQueueArn: 'cpu-job-queue-arn',
  cpuJobDefinitionArn: 'cpu-job-definition-arn',
  dataBucket: 'data-bucket',
  resultsBucket: 'results-bucket',
} as const;

export function ssmParameterName(stackName: string, key: keyof typeof SSM_PARAMETERS): string {
  return `/${stackName}/${SSM_PARAMETERS[key]}`;
}

/** The stack's two job queues: GPU instances (EC2), or Fargate (Spot first) with the CPU image. */
export const QUEUES = ['gpu', 'cpu'] as const;
export type QueueName = (typeof QUEUES)[number];
/** The queue a sweep uses when the stack has it and `--queue` is absent. */
export const DEFAULT_QUEUE: QueueName = 'gpu';

/** Which SSM parameters name each queue and its job definition. */
export const QUEUE_PARAMETERS: Readonly<Record<QueueName, { readonly jobQueue: keyof typeof SSM_PARAMETERS; readonly jobDefinition: keyof typeof SSM_PARAMETERS }>> = {
  gpu: { jobQueue: 'jobQueueArn', jobDefinition: 'jobDefinitionArn' },
  cpu: { jobQueue: 'cpuJobQueueArn', jobDefinition: 'cpuJobDefinitionArn' },
};

/**
 * What one CPU (Fargate) job reserves: the stack's job definition and the cost estimate both use it.
 * 2 vCPUs so both arms can train at once; 4 GiB is ten times a run's peak RSS (~400 MiB per arm), and
 * 2 vCPU / 4 GiB is a size Fargate offers.
 */
export const CPU_JOB_RESOURCES = { vcpus: 2, memoryMiB: 4096 } as const;

/** The Dockerfile stage of the CPU image (no CUDA, wasm backend); the GPU image is the file's last stage. */
export const CPU_IMAGE_TARGET = 'cpu';

/** Set to 1 in the GPU job definition: the job refuses to train without a usable GPU (job/backend/device.ts). */
export const REQUIRE_GPU_ENV = 'MIXUP_REQUIRE_GPU';
