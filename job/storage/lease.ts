/**
 * One holder per run id. A run writes `lease.json` under its run with a conditional create before it
 * reads or writes anything else, renews it every quarter of its lifetime while it works, and removes it
 * when it ends. A second process with the same run id finds a fresh lease and exits 1 naming the holder.
 * A lease not renewed for its lifetime (`MIXUP_LEASE_SECONDS`, default 120 s) is stale: its holder died
 * (SIGKILL, a lost host) and the next start takes it over with a conditional replace, so exactly one of
 * several starters wins. A later attempt of the same AWS Batch job takes over at once: Batch starts a
 * retry only after the previous attempt is gone. So does a start on the holder's host when the holder's
 * pid no longer exists (a local run killed with SIGKILL is restarted at once).
 *
 * All of this rests on the store refusing a create of an object that exists. Some S3-compatible
 * servers ignore `If-None-Match` (s3rver does): there two starters would both "hold" a run and delete
 * each other's checkpoints. So every start first probes the store with an object of its own, and on
 * such a store refuses to run unless `MIXUP_ALLOW_UNSAFE_STORE=1` (one process per run id is then the
 * user's to keep).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

import { z } from 'zod';

import { JobError, UsageError } from '../errors.js';
import { RUN_LEASE } from '../shared/layout.js';
import { ALLOW_UNSAFE_STORE_ENV } from '../shared/unsafe-store.js';
import { type ConditionalObject, conditionalObject, honoursConditionalWrites } from './conditional.js';
import type { Storage } from './storage.js';

export const LEASE_KEY = RUN_LEASE;
export const DEFAULT_LEASE_SECONDS = 120;

const recordSchema = z.object({
  token: z.string(),
  host: z.string(),
  pid: z.number(),
  batchJobId: z.string().nullable(),
  renewedAt: z.string(),
  ttlSeconds: z.number(),
});
type LeaseRecord = z.infer<typeof recordSchema>;

export interface LeaseOptions {
  readonly runId: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Told when a stale lease (or an earlier attempt's) is taken over. */
  readonly onTakeover?: (previous: string) => void;
  /** Told, with one line, when the store ignores conditional writes and `MIXUP_ALLOW_UNSAFE_STORE=1` lets the run go on. @default a line on stderr */
  readonly onUnsafeStore?: (message: string) => void;
}

export function allowUnsafeStoreFrom(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[ALLOW_UNSAFE_STORE_ENV];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new UsageError(`${ALLOW_UNSAFE_STORE_ENV}='${raw}' must be 1 (run on a store that ignores conditional writes) or 0`);
}

export function leaseSecondsFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIXUP_LEASE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_LEASE_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`MIXUP_LEASE_SECONDS='${raw}' must be a positive number`);
  return value;
}

export class RunLease {
  private version: string;
  private timer: NodeJS.Timeout | null = null;
  private lost: string | null = null;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly object: ConditionalObject,
    private readonly record: LeaseRecord,
    version: string,
    private readonly runId: string,
  ) {
    this.version = version;
    this.timer = setInterval(() => void this.renew(), (record.ttlSeconds * 1000) / 4);
    this.timer.unref();
  }

  /** Throws when another process has taken the run over (this one was stalled past the lease's lifetime). */
  assertHeld(): void {
    if (this.lost) throw new JobError(this.lost);
  }

  renew(): Promise<void> {
    this.renewing = this.renewing.then(async () => {
      if (this.lost) return;
      try {
        const next = await this.object.replace(serialise({ ...this.record, renewedAt: new Date().toISOString() }), this.version);
        if (next !== null) {
          this.version = next;
          return;
        }
        const current = await this.object.read();
        this.lost = `run ${this.runId} was taken over by ${current ? describe(current.body) : 'another process'} (${this.object.uri}); stopping without writing`;
      } catch (error) {
        this.lost = `cannot renew the lease ${this.object.uri}: ${error instanceof Error ? error.message : String(error)}`;
      }
    });
    return this.renewing;
  }

  /** Stops renewing and removes the lease if it is still this process's. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing;
    if (this.lost) return;
    const current = await this.object.read();
    if (current && current.version === this.version) await this.object.remove();
  }
}

/**
 * Takes the run's lease, or throws one line naming the process that holds it, or one naming a store
 * that ignores conditional writes (unless `MIXUP_ALLOW_UNSAFE_STORE=1`).
 */
export async function acquireLease(run: Storage, options: LeaseOptions): Promise<RunLease> {
  const env = options.env ?? process.env;
  const allowUnsafe = allowUnsafeStoreFrom(env);
  const object = conditionalObject(run, LEASE_KEY);
  // Before the lease is written: on a store that ignores the condition, taking it could replace another holder's.
  if (!(await honoursConditionalWrites(conditionalObject(run, `${LEASE_KEY}.probe-${randomBytes(6).toString('hex')}`)))) {
    const message =
      `the store at ${await object.store()} ignores conditional writes (a second create with If-None-Match: * was not refused under ${run.uri}), ` +
      `so two processes could both hold run ${options.runId} and overwrite each other's checkpoints`;
    if (!allowUnsafe) {
      throw new UsageError(`${message}; use a store that honours them (AWS S3 does), or set ${ALLOW_UNSAFE_STORE_ENV}=1 to run anyway`);
    }
    (options.onUnsafeStore ?? ((line) => process.stderr.write(`mixup: ${line}\n`)))(`${message}; running anyway (${ALLOW_UNSAFE_STORE_ENV}=1)`);
  }
  return takeLease(object, options, env);
}

async function takeLease(object: ConditionalObject, options: LeaseOptions, env: NodeJS.ProcessEnv): Promise<RunLease> {
  const record: LeaseRecord = {
    token: randomBytes(12).toString('hex'),
    host: os.hostname(),
    pid: process.pid,
    batchJobId: env.AWS_BATCH_JOB_ID || null,
    renewedAt: new Date().toISOString(),
    ttlSeconds: leaseSecondsFrom(env),
  };
  const body = serialise(record);
  for (let tries = 0; tries < 5; tries++) {
    const created = await object.create(body);
    if (created !== null) return new RunLease(object, record, created, options.runId);
    const current = await object.read();
    if (!current) continue; // released in between
    const holder = parse(current.body);
    // Our own create, whose answer was lost and retried.
    if (holder?.token === record.token) return new RunLease(object, record, current.version, options.runId);
    if (holder && !isStale(holder) && !isEarlierAttempt(holder, record) && !isDeadHereAndNow(holder)) {
      const age = Math.round((Date.now() - Date.parse(holder.renewedAt)) / 1000);
      throw new JobError(
        `run ${options.runId} is in use by ${describe(current.body)} (lease renewed ${age} s ago, ${object.uri}); ` +
          `wait for it to end, use another --run-id, or remove the lease if that process is gone`,
      );
    }
    const replaced = await object.replace(body, current.version);
    if (replaced !== null) {
      options.onTakeover?.(describe(current.body));
      return new RunLease(object, record, replaced, options.runId);
    }
  }
  throw new JobError(`run ${options.runId}: the lease ${object.uri} keeps changing; another process is starting this run`);
}

function isStale(holder: LeaseRecord): boolean {
  const renewed = Date.parse(holder.renewedAt);
  return !Number.isFinite(renewed) || Date.now() - renewed > holder.ttlSeconds * 1000;
}

/** AWS_BATCH_JOB_ID is the same across a job's attempts; a new attempt means the old one has ended. */
function isEarlierAttempt(holder: LeaseRecord, me: LeaseRecord): boolean {
  return holder.batchJobId !== null && holder.batchJobId === me.batchJobId;
}

/** A holder on this host whose process is gone (SIGKILL, OOM) need not be waited out. */
function isDeadHereAndNow(holder: LeaseRecord): boolean {
  if (holder.host !== os.hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function parse(body: string): LeaseRecord | null {
  try {
    const result = recordSchema.safeParse(JSON.parse(body));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

function describe(body: string): string {
  const holder = parse(body);
  if (!holder) return 'an unreadable lease';
  return `pid ${holder.pid} on ${holder.host}${holder.batchJobId ? ` (AWS Batch job ${holder.batchJobId})` : ''}`;
}

function serialise(record: LeaseRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
