/**
 * One https(s) file to a temporary file: streamed (the whole body is never held twice), hashed as it
 * arrives, cut off when no byte has come for the inactivity limit (a slow but moving transfer is never
 * cut), retried with backoff on transient answers (429, 5xx) and on connections that drop mid-body, and
 * stopped at once when the run is asked to stop.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { InterruptedError, JobError, NotFoundError } from '../errors.js';
import { withPath } from '../storage/make-dir.js';

/** Seconds without a single byte before a download is given up. @default 60 */
export const DOWNLOAD_IDLE_ENV = 'MIXUP_DOWNLOAD_IDLE_SECONDS';
export const DEFAULT_DOWNLOAD_IDLE_MS = 60_000;
/** Waits before the 2nd, 3rd and 4th try: four tries in all, about 7 s of waiting. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000];
/** A server's Retry-After is honoured up to this; a longer one is the server's outage, not a blip. */
const MAX_RETRY_AFTER_MS = 30_000;

export interface DownloadOptions {
  /** @default DEFAULT_DOWNLOAD_IDLE_MS */
  readonly idleMs?: number;
  /** @default DEFAULT_RETRY_DELAYS_MS */
  readonly retryDelaysMs?: readonly number[];
  /** Aborted when the run is asked to stop: the transfer ends at once with an InterruptedError. */
  readonly signal?: AbortSignal;
}

export interface Downloaded {
  readonly bytes: number;
  readonly sha256: string;
}

/** A try that may succeed when repeated: the message says what happened. */
class TransientError extends JobError {
  constructor(
    message: string,
    readonly options: { readonly cause?: unknown; readonly retryAfterMs?: number | null; readonly network?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/**
 * Downloads `url` into `temp` (created or truncated). Throws NotFoundError on 404 (and the 403 that S3
 * website endpoints send for a missing key), InterruptedError when `signal` aborts, JobError otherwise;
 * `temp` is removed whenever it throws.
 */
export async function downloadToFile(url: string, temp: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const idleMs = options.idleMs ?? DEFAULT_DOWNLOAD_IDLE_MS;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const tries = delays.length + 1;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await downloadOnce(url, temp, idleMs, options.signal);
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        if (attempt >= tries) {
          const hint = error.options.network ? '; check the network, or pass --data <dir> with the four files' : '';
          throw new JobError(`download ${url}: ${error.message} (${tries} tries)${hint}`, { cause: error });
        }
        const wait = Math.max(delays[attempt - 1]!, Math.min(error.options.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
        try {
          await sleep(wait, undefined, { signal: options.signal });
        } catch {
          throw interrupted(url, options.signal);
        }
      }
    }
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function downloadOnce(url: string, temp: string, idleMs: number, stop: AbortSignal | undefined): Promise<Downloaded> {
  if (stop?.aborted) throw interrupted(url, stop);
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  const signal = stop ? AbortSignal.any([stop, idle.signal]) : idle.signal;
  const file = await open(temp, 'w');
  try {
    touch();
    const response = await fetch(url, { signal, redirect: 'follow' });
    // S3 website endpoints answer 403, not 404, for a missing key when listing is not public.
    if (response.status === 404 || response.status === 403) {
      await response.body?.cancel();
      throw new NotFoundError(url);
    }
    if (!response.ok) {
      await response.body?.cancel();
      const status = `HTTP ${response.status} ${response.statusText}`.trim();
      if (response.status === 429 || response.status >= 500) {
        throw new TransientError(status, { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) });
      }
      throw new JobError(`download ${url}: ${status}`);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const reader = response.body?.getReader();
    for (let next = await reader?.read(); next && !next.done; next = await reader!.read()) {
      touch();
      const data = next.value;
      hash.update(data);
      bytes += data.length;
      await file.write(data).catch((error: unknown) => {
        throw withPath(error, temp);
      });
    }
    // Without Content-Length (or with a content encoding) the length is not known here; the caller's
    // verification (a whole gzip stream, the checksums) catches a body cut short.
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > 0 && !response.headers.get('content-encoding') && bytes !== declared) {
      throw new TransientError(`got ${bytes} bytes, the server announced ${declared}`);
    }
    return { bytes, sha256: hash.digest('hex') };
  } catch (error) {
    if (stop?.aborted) throw interrupted(url, stop);
    if (idle.signal.aborted) {
      throw new JobError(
        `download ${url}: no data for ${idleMs / 1000} s; the server stalled (raise ${DOWNLOAD_IDLE_ENV} for a slow link)`,
        { cause: error },
      );
    }
    if (error instanceof JobError) throw error;
    // A full or failing disk is not the network's fault and is not retried.
    if (typeof (error as NodeJS.ErrnoException).syscall === 'string') throw error;
    // A connection refused or reset, or a body that ended early: worth another try.
    throw new TransientError(describeFetchError(error), { cause: error, network: true });
  } finally {
    clearTimeout(timer);
    await file.close();
  }
}

function interrupted(url: string, signal: AbortSignal | undefined): InterruptedError {
  const reason = typeof signal?.reason === 'string' ? signal.reason : 'a stop request';
  return new InterruptedError(`download ${url} stopped by ${reason}`);
}

/** Retry-After in seconds (the HTTP-date form is rare for downloads and is ignored). */
function retryAfterMs(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header) * 1000;
}

export function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
