/**
 * The read-only AWS calls `mixup doctor` makes (Batch, ECR, Service Quotas, IAM), behind one small
 * interface so tests can answer each with recorded shapes and no account.
 */
import {
  BatchClient,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  type ComputeEnvironmentDetail,
  type JobDefinition,
  type JobQueueDetail,
} from '@aws-sdk/client-batch';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';

import type { CommandSender } from '../batch-client.js';

export interface DoctorApi {
  describeJobQueue(arn: string): Promise<JobQueueDetail | undefined>;
  describeComputeEnvironments(arns: string[]): Promise<ComputeEnvironmentDetail[]>;
  describeJobDefinition(arn: string): Promise<JobDefinition | undefined>;
  /** Whether the image is in the repository; throws on anything but "not found". */
  imageExists(image: EcrImage): Promise<boolean>;
  /** The applied quota value; the AWS default where the account has never changed it. */
  quotaValue(serviceCode: string, quotaCode: string): Promise<number>;
  /** Whether the account has this IAM role; throws on anything but "no such role" (e.g. access denied). */
  roleExists(roleName: string): Promise<boolean>;
}

export interface EcrImage {
  readonly registryId: string;
  readonly region: string;
  readonly repositoryName: string;
  readonly tag?: string;
  readonly digest?: string;
}

const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** `123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag` (or `@sha256:…`); null for any other registry. */
export function parseEcrImage(uri: string): EcrImage | null {
  const match = ECR_URI.exec(uri.trim());
  if (!match) return null;
  const [, registryId, region, repositoryName, tag, digest] = match;
  return { registryId: registryId!, region: region!, repositoryName: repositoryName!, ...(digest ? { digest } : { tag: tag ?? 'latest' }) };
}

export interface DoctorClients {
  readonly batch?: CommandSender;
  readonly ecr?: (region: string) => CommandSender;
  readonly quotas?: CommandSender;
  readonly iam?: CommandSender;
}

export function createDoctorApi(clients: DoctorClients = {}): DoctorApi {
  const batch = clients.batch ?? new BatchClient({});
  const ecr = clients.ecr ?? ((region: string) => new ECRClient({ region }));
  const quotas = clients.quotas ?? new ServiceQuotasClient({});
  const iam = clients.iam ?? new IAMClient({});
  return {
    describeJobQueue: async (arn) =>
      ((await batch.send(new DescribeJobQueuesCommand({ jobQueues: [arn] }))) as { jobQueues?: JobQueueDetail[] }).jobQueues?.[0],
    describeComputeEnvironments: async (arns) =>
      ((await batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: arns }))) as {
        computeEnvironments?: ComputeEnvironmentDetail[];
      }).computeEnvironments ?? [],
    describeJobDefinition: async (arn) =>
      ((await batch.send(new DescribeJobDefinitionsCommand({ jobDefinitions: [arn] }))) as { jobDefinitions?: JobDefinition[] })
        .jobDefinitions?.[0],
    imageExists: async (image) => {
      const imageId = image.digest ? { imageDigest: image.digest } : { imageTag: image.tag };
      try {
        const found = (await ecr(image.region).send(
          new DescribeImagesCommand({ registryId: image.registryId, repositoryName: image.repositoryName, imageIds: [imageId] }),
        )) as { imageDetails?: unknown[] };
        return (found.imageDetails?.length ?? 0) > 0;
      } catch (error) {
        if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes((error as Error).name)) return false;
        throw error;
      }
    },
    quotaValue: async (serviceCode, quotaCode) => {
      type Answer = { Quota?: { Value?: number } };
      let answer: Answer;
      try {
        answer = (await quotas.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))) as Answer;
      } catch (error) {
        if ((error as Error).name !== 'NoSuchResourceException') throw error;
        answer = (await quotas.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))) as Answer;
      }
      const value = answer.Quota?.Value;
      if (typeof value !== 'number') throw new Error(`Service Quotas returned no value for ${serviceCode}/${quotaCode}`);
      return value;
    },
    roleExists: async (roleName) => {
      try {
        await iam.send(new GetRoleCommand({ RoleName: roleName }));
        return true;
      } catch (error) {
        if ((error as Error).name === 'NoSuchEntityException') return false;
        throw error;
      }
    },
  };
}
