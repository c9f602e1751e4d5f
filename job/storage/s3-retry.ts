/**
 * Waiting out an S3 outage. The SDK's own retries (AWS_MAX_ATTEMPTS, default 5) spend well under a
 * second on a refused connection; a GPU job on AWS Batch, which retries only lost hosts, would then fail
 * for a blip. So a request that still fails with a transient error is tried again after a wait that
 * doubles (1 s, 2 s, … 30 s), until the outage budget (`MIXUP_S3_OUTAGE_SECONDS`, default 300 s) is spent.
 */
import { JobError } from '../errors.js';
import { FIRST_WAIT_MS, MAX_WAIT_MS } from './s3-timeouts.js';

export interface OutageWait {
  readonly endpoint: string;
  readonly uri: string;
  /** How long the endpoint has been failing, in seconds. */
  readonly waitedSeconds: number;
  /** The wait before the next try, in seconds. */
  readonly retryInSeconds: number;
  readonly cause: string;
}

export interface OutagePolicy {
  readonly outageMs: number;
  readonly endpoint: string;
  /** Told once per wait; the run logs it as one line. */
  readonly onWait?: (wait: OutageWait) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface SdkLike {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly cause?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'Throttling', 'ThrottlingException',
  'ServiceUnavailable', 'InternalError',
]);

/** A failure that a later try may not have: the network, a timeout, throttling or a 5xx. */
export function isTransientS3Error(error: unknown, depth = 0): boolean {
  if (error instanceof JobError) return false;
  const e = (error ?? {}) as SdkLike;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'AbortError') return false;
  if (TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_NAMES.has(e.name ?? '')) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  // An SDK error with metadata but no HTTP status never got an answer.
  if (e.$metadata && status === undefined) return true;
  return e.cause !== undefined && depth < 5 && isTransientS3Error(e.cause, depth + 1);
}

/**
 * `attempt()` until it succeeds, a non-transient error, or the outage budget is spent; then the last
 * error is thrown with `outageSeconds` set, for the message.
 */
export async function withOutageRetry<T>(attempt: () => Promise<T>, uri: string, policy: OutagePolicy): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let firstFailure: number | null = null;
  let wait = Math.min(FIRST_WAIT_MS, policy.outageMs / 8);
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransientS3Error(error)) throw error;
      const now = Date.now();
      firstFailure ??= now;
      const waited = now - firstFailure;
      if (waited + wait > policy.outageMs) throw new OutageError(error, waited / 1000);
      policy.onWait?.({
        endpoint: policy.endpoint,
        uri,
        waitedSeconds: round(waited / 1000),
        retryInSeconds: round(wait / 1000),
        cause: causeOf(error),
      });
      await sleep(wait);
      wait = Math.min(wait * 2, MAX_WAIT_MS, Math.max(policy.outageMs / 4, 1));
    }
  }
}

/** The last transient error of an outage that outlasted the budget. */
export class OutageError extends Error {
  constructor(
    readonly last: unknown,
    readonly waitedSeconds: number,
  ) {
    super(causeOf(last), { cause: last });
    this.name = 'OutageError';
  }
}

export function causeOf(error: unknown): string {
  const e = (error ?? {}) as SdkLike;
  const text = e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.message ?? String(error);
  return text.split('\n', 1)[0]!.trim() || 'network error';
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
