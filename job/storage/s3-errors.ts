import { JobError, NotFoundError, UsageError } from '../errors.js';
import { OutageError } from './s3-retry.js';

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE',
]);
const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError',
]);

/**
 * One user-facing line for an S3 failure on `uri`. By the time an error gets here the SDK has
 * already retried it `maxAttempts` times, so the message says so for the transient kinds.
 */
export function mapS3Error(error: unknown, uri: string, bucket: string, endpoint = 'AWS S3'): Error {
  if (error instanceof JobError || error instanceof UsageError) return error;
  if (error instanceof OutageError) {
    return new JobError(
      `cannot reach ${endpoint} for ${uri}: still failing after waiting ${Math.round(error.waitedSeconds)} s (${error.message}); ` +
        `the last checkpoint is kept, start again with the same --run-id to resume`,
      { cause: error.last },
    );
  }
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
  const cause = { cause: error };

  if (name === 'NoSuchBucket') return new JobError(`bucket does not exist: s3://${bucket} (reading or writing ${uri})`, cause);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundError(uri);
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new JobError(`access denied to ${uri}: check the credentials' S3 permissions and the bucket policy`, cause);
  }
  if (CREDENTIAL_NAMES.has(name) || /could not load credentials/i.test(e.message ?? '')) {
    return new JobError(`no valid AWS credentials for ${uri} (${name}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use an instance/task role`, cause);
  }
  if (/region is missing/i.test(e.message ?? '')) {
    return new UsageError(`no AWS region for ${uri}: set AWS_REGION (e.g. AWS_REGION=us-east-1)`);
  }
  const network = NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(name) || name === 'TimeoutError';
  if (network || (e.$metadata && status === undefined)) {
    const detail = firstLine(e.code ?? e.message ?? name) || 'network error';
    return new JobError(`cannot reach ${endpoint} for ${uri}${tries} (${detail})`, cause);
  }
  // Neither an S3 answer nor a network failure: a bug, which should keep its stack.
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const detail = firstLine(e.message ?? '') || name;
  return new JobError(`S3 request for ${uri} failed${tries}: HTTP ${status} ${name}${detail && detail !== name ? ` — ${detail}` : ''}`, cause);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
