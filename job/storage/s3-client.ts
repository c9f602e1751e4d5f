import { S3Client } from '@aws-sdk/client-s3';

import { UsageError } from '../errors.js';
import { s3TimeoutsFrom } from './s3-timeouts.js';

/** 5 rather than the SDK's 3: a spot GPU job is expensive to lose to a brief S3 hiccup. */
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface S3ClientOptions {
  /** Attempts per request, the first included. @default AWS_MAX_ATTEMPTS, else 5 */
  readonly maxAttempts?: number;
  /** Environment to read the endpoint and attempts from; region and credentials always come from the SDK's chains. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * An S3 client with the SDK's standard configuration: region and credentials from the default chains,
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` read by the SDK itself, `AWS_RETRY_MODE` (standard or
 * adaptive) by the SDK too. Path-style addressing when an endpoint is set, because local servers
 * (LocalStack, MinIO) do not resolve `bucket.host` names.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const env = options.env ?? process.env;
  const endpoint = endpointFrom(env);
  const timeouts = s3TimeoutsFrom(env);
  return new S3Client({
    // Undefined leaves the SDK's own resolution (which also reads `endpoint_url` from ~/.aws/config).
    endpoint,
    maxAttempts: options.maxAttempts ?? maxAttemptsFrom(env),
    forcePathStyle: endpoint !== undefined,
    // Handler options as a plain object: the SDK builds its own Node handler from them. In the pinned
    // @smithy/node-http-handler (4.14) `requestTimeout` only logs a warning unless
    // `throwOnRequestTimeout` is set, and caps a whole transfer; `socketTimeout` (inactivity) is the one
    // that fails a stalled request, sending or receiving, so the SDK retries it.
    requestHandler: { connectionTimeout: timeouts.connectionTimeoutMs, socketTimeout: timeouts.socketTimeoutMs },
  });
}

/** The endpoint override the SDK will use, for messages and path-style addressing. */
export function endpointFrom(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export function maxAttemptsFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AWS_MAX_ATTEMPTS;
  if (raw === undefined || raw === '') return DEFAULT_MAX_ATTEMPTS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`AWS_MAX_ATTEMPTS='${raw}' must be a whole number of at least 1`);
  }
  return value;
}
