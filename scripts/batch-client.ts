/**
 * The few AWS Batch and SSM calls the sweep commands make, behind small interfaces so tests can
 * record their inputs without an AWS account.
 */
import {
  BatchClient,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  type DescribeJobsCommandOutput,
  type JobSummary,
  type ListJobsCommandInput,
  type SubmitJobCommandInput,
  type SubmitJobCommandOutput,
} from '@aws-sdk/client-batch';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';

import { JobError } from '../job/errors.js';
import { DEFAULT_STACK_NAME, ssmParameterName, type StackParameter } from '../job/shared/stack.js';

export interface BatchApi {
  submitJob(input: SubmitJobCommandInput): Promise<SubmitJobCommandOutput>;
  describeJobs(jobIds: string[]): Promise<DescribeJobsCommandOutput>;
  /** Every page of ListJobs for the input. */
  listJobs(input: ListJobsCommandInput): Promise<JobSummary[]>;
}

/** Anything with the SDK's `send`: a real client or a test double. */
export interface CommandSender {
  send(command: object): Promise<unknown>;
}

export function createBatchApi(client: CommandSender = new BatchClient({})): BatchApi {
  return {
    submitJob: async (input) => (await client.send(new SubmitJobCommand(input))) as SubmitJobCommandOutput,
    describeJobs: async (jobIds) => (await client.send(new DescribeJobsCommand({ jobs: jobIds }))) as DescribeJobsCommandOutput,
    listJobs: async (input) => {
      const jobs: JobSummary[] = [];
      let nextToken: string | undefined;
      do {
        const page = (await client.send(new ListJobsCommand({ ...input, nextToken }))) as {
          jobSummaryList?: JobSummary[];
          nextToken?: string;
        };
        jobs.push(...(page.jobSummaryList ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return jobs;
    },
  };
}

export type { StackParameter };

export interface SsmApi {
  /** The values of the named parameters; a missing one is absent from the result. */
  getParameters(names: string[]): Promise<Record<string, string>>;
}

export function createSsmApi(client: CommandSender = new SSMClient({})): SsmApi {
  return {
    getParameters: async (names) => {
      const values: Record<string, string> = {};
      // GetParameters takes at most 10 names per call.
      for (let i = 0; i < names.length; i += 10) {
        const page = (await client.send(new GetParametersCommand({ Names: names.slice(i, i + 10) }))) as {
          Parameters?: { Name?: string; Value?: string }[];
        };
        for (const parameter of page.Parameters ?? []) {
          if (parameter.Name && parameter.Value !== undefined) values[parameter.Name] = parameter.Value;
        }
      }
      return values;
    },
  };
}

/**
 * Reads the deployed stack's parameters (`/<stack>/job-queue-arn`, …). A missing parameter or an
 * unreachable SSM is a `JobError` that names the parameter and the flag that replaces it.
 */
export async function readStackParameters<K extends StackParameter>(
  ssm: SsmApi,
  keys: readonly K[],
  stackName = DEFAULT_STACK_NAME,
): Promise<Record<K, string>> {
  const names = keys.map((key) => ssmParameterName(stackName, key));
  let values: Record<string, string>;
  try {
    values = await ssm.getParameters(names);
  } catch (error) {
    throw new JobError(
      `could not read the stack's SSM parameters (${names.join(', ')}): ${(error as Error).message}; ` +
        `deploy the stack, check AWS credentials and region, or pass ${keys.map(flagFor).join(', ')}`,
      { cause: error },
    );
  }
  const missing = keys.filter((_, i) => values[names[i]!] === undefined);
  if (missing.length > 0) {
    throw new JobError(
      `SSM parameter(s) ${missing.map((key) => ssmParameterName(stackName, key)).join(', ')} not found; ` +
        `is the stack '${stackName}' deployed in this region (--stack-name)? Or pass ${missing.map(flagFor).join(', ')}`,
    );
  }
  return Object.fromEntries(keys.map((key, i) => [key, values[names[i]!]!])) as Record<K, string>;
}

/** The flag that replaces a stack parameter. */
export function flagFor(key: StackParameter): string {
  if (key === 'dataBucket') return '--data';
  if (key === 'resultsBucket') return '--results';
  return key.endsWith('.jobQueue') ? '--job-queue' : '--job-definition';
}
