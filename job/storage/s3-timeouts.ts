/**
 * How long one S3 request may stall and how long an S3 outage is waited out. Read from the
 * environment so tests (and users on slow links) can shrink or stretch them without a flag.
 */
import { UsageError } from '../errors.js';

/** TCP connect to the endpoint. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/**
 * A socket with no bytes in either direction for this long is dead. Inactivity, not duration:
 * a large upload or download keeps its socket busy, so this does not cap its length.
 */
export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
/** An endpoint that keeps failing is retried (with backoff) for this long before the run gives up. */
export const DEFAULT_OUTAGE_SECONDS = 300;
/** The first wait after a failed request; each later wait doubles, up to MAX_WAIT_MS. */
export const FIRST_WAIT_MS = 1_000;
export const MAX_WAIT_MS = 30_000;

export interface S3Timeouts {
  readonly connectionTimeoutMs: number;
  readonly socketTimeoutMs: number;
  readonly outageMs: number;
}

/**
 * `MIXUP_S3_TIMEOUT_MS` (socket inactivity; the connect timeout is the smaller of it and 5 s) and
 * `MIXUP_S3_OUTAGE_SECONDS` (how long an unreachable endpoint is retried).
 */
export function s3TimeoutsFrom(env: NodeJS.ProcessEnv = process.env): S3Timeouts {
  const socketTimeoutMs = positive(env, 'MIXUP_S3_TIMEOUT_MS', DEFAULT_SOCKET_TIMEOUT_MS);
  const outageSeconds = positive(env, 'MIXUP_S3_OUTAGE_SECONDS', DEFAULT_OUTAGE_SECONDS, true);
  return {
    connectionTimeoutMs: Math.min(DEFAULT_CONNECTION_TIMEOUT_MS, socketTimeoutMs),
    socketTimeoutMs,
    outageMs: outageSeconds * 1000,
  };
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, allowZero = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${name}='${raw}' must be a ${allowZero ? 'number ≥ 0' : 'positive number'}`);
  }
  return value;
}
