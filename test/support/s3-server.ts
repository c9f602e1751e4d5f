/**
 * A real S3-compatible server on 127.0.0.1 for integration tests: LocalStack when `LOCALSTACK_ENDPOINT`
 * is set and answers, otherwise s3rver (npm) in-process on a random port over a temporary directory.
 * Tests pass `env` to the code under test (or merge it into process.env); nothing touches real AWS.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const REGION = 'us-east-1';
// s3rver checks SigV4 signatures against its one built-in key pair; LocalStack accepts any pair.
const S3RVER_KEY = 'S3RVER';
const LOCALSTACK_KEY = 'test';

export interface S3Server {
  /** e.g. `http://127.0.0.1:43121` */
  readonly endpoint: string;
  /** 'localstack' or 's3rver' */
  readonly kind: 'localstack' | 's3rver';
  /** Variables that point the AWS SDK and the `aws` CLI at this server. */
  readonly env: Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** Stops s3rver and removes its files; LocalStack is left running (it is not ours). */
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const localstack = process.env.LOCALSTACK_ENDPOINT;
  if (localstack && (await reachable(localstack))) return serverAt(localstack, 'localstack', LOCALSTACK_KEY, async () => {});

  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const address = await server.run();
  return serverAt(`http://127.0.0.1:${address.port}`, 's3rver', S3RVER_KEY, async () => {
    // The SDK keeps sockets alive; without this, close() waits for them to time out.
    server.httpServer?.closeAllConnections();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });
}

function serverAt(endpoint: string, kind: S3Server['kind'], key: string, stop: () => Promise<void>): S3Server {
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: key,
    AWS_SECRET_ACCESS_KEY: key,
    AWS_EC2_METADATA_DISABLED: 'true',
    // s3rver ignores If-None-Match on PUT, so the run lease refuses it unless told to go on; these tests
    // run one process per run id. (test/integration/lease-unsafe-store.test.ts checks the refusal itself.)
    ...(kind === 's3rver' ? { MIXUP_ALLOW_UNSAFE_STORE: '1' } : {}),
  };
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: key, secretAccessKey: key },
  });
  return {
    endpoint,
    kind,
    env,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      await stop();
    },
  };
}

async function reachable(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}
