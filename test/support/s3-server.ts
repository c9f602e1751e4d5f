/**
 * The S3 of the integration and Docker tests: LocalStack (test/support/localstack.ts) on 127.0.0.1 —
 * the one at LOCALSTACK_ENDPOINT when set (test/run-all.sh starts one for all test files), otherwise
 * one of the test file's own. Its PUTs are atomic and it honours conditional writes, as S3 does.
 * Tests pass `env` to the code under test (or merge it into process.env); nothing touches real AWS.
 */
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  S3Client,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3';

import { LOCALSTACK_REGION, useLocalStack } from './localstack.js';

export interface S3Server {
  /** e.g. `http://127.0.0.1:43121` */
  readonly endpoint: string;
  /** Variables that point the AWS SDK and the `aws` CLI at this server. */
  readonly env: Record<string, string>;
  /** A bucket that exists and is empty (a shared LocalStack may hold one of an earlier run). */
  createBucket(name: string): Promise<void>;
  /** Stops the test file's own LocalStack (a shared one is left running). */
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const localstack = await useLocalStack();
  const client = new S3Client({
    endpoint: localstack.endpoint,
    region: LOCALSTACK_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    endpoint: localstack.endpoint,
    env: localstack.env,
    async createBucket(name) {
      // us-east-1 answers 200 for a bucket its caller already owns.
      await client.send(new CreateBucketCommand({ Bucket: name }));
      await emptyBucket(client, name);
    },
    async stop() {
      client.destroy();
      await localstack.stop();
    },
  };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const listed = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects: ObjectIdentifier[] = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (objects.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
}
