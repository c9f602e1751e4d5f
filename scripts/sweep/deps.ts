/** What a sweep talks to — Batch, SSM, storage, child processes, the clock — so tests can stand in for each. */
import { spawn as spawnProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { packageRoot } from '../../job/shared/package-root.js';
import { openStorageLazily } from '../../job/storage/open-lazily.js';
import type { Storage } from '../../job/storage/storage.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import type { BatchApi, SsmApi } from '../batch-client.js';
import type { DoctorApi } from '../doctor/aws.js';
import { lazyApi } from '../lazy-api.js';

/** A running child process, as much of it as the local executor needs. */
export interface ChildLike {
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  kill(signal: NodeJS.Signals): boolean;
}

export type Spawner = (command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv }) => ChildLike;

export interface SweepDeps {
  readonly batch: () => BatchApi;
  readonly ssm: () => SsmApi;
  /** `mixup doctor`'s AWS calls, for the checks before a Batch submit; absent: no checks. */
  readonly doctor?: () => DoctorApi;
  /** A storage for a directory or an s3:// URI (the default loads the S3 client only for the latter). */
  readonly openStorage: (location: string, option?: string) => Storage | Promise<Storage>;
  readonly now: () => Date;
  readonly spawn: Spawner;
  /** How to start `mixup run`: the command and the arguments before `run`. */
  readonly cli: { readonly command: string; readonly args: readonly string[] };
  /** The parent environment children inherit (minus `MIXUP_*`). */
  readonly env: NodeJS.ProcessEnv;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** Rewrites one status line in place; absent when stderr is not a terminal. */
  readonly status?: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Calls `handler` on SIGTERM and SIGINT until the returned function is called. @default - none: the sweep cannot be stopped cleanly */
  readonly onSignal?: (handler: (signal: NodeJS.Signals) => void) => () => void;
  /** Batch --wait: explains failed runs (status reason, log tail); absent, failures are only counted. */
  readonly reportFailures?: (record: SweepRecord, jobId: string, failed: readonly string[]) => Promise<void>;
}

/**
 * `mixup run` through the same Node: the compiled CLI when this module is compiled, the TypeScript
 * source through tsx when it runs from source (tests, `npx tsx`).
 */
export function defaultCli(): { command: string; args: string[] } {
  const root = packageRoot();
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  return fromSource
    ? // tsx resolved from here, not from the working directory, which need not be this package.
      { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), path.join(root, 'job', 'cli.ts')] }
    : { command: process.execPath, args: [path.join(root, 'dist', 'job', 'cli.js')] };
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function defaultSweepDeps(): SweepDeps {
  let batch: BatchApi | undefined;
  let ssm: SsmApi | undefined;
  let doctor: DoctorApi | undefined;
  const tty = process.stderr.isTTY === true;
  return {
    // The SDKs load on a client's first call: a local sweep makes none.
    batch: () => (batch ??= lazyApi(async () => (await import('../batch-client.js')).createBatchApi())),
    ssm: () => (ssm ??= lazyApi(async () => (await import('../batch-client.js')).createSsmApi())),
    doctor: () => (doctor ??= lazyApi(async () => (await import('../doctor/aws.js')).createDoctorApi())),
    openStorage: openStorageLazily,
    now: () => new Date(),
    // Its own process group: Ctrl-C on a terminal then reaches the sweep alone, which forwards ONE
    // SIGTERM; a child given two signals would exit at once, without its checkpoint.
    spawn: (command, args, { env }) => spawnProcess(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
    cli: defaultCli(),
    env: process.env,
    log: (line) => process.stderr.write(`${tty ? '\x1b[2K\r' : ''}${line}\n`),
    status: tty ? (line) => process.stderr.write(`\x1b[2K\r${line}`) : undefined,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    onSignal: (handler) => {
      for (const signal of STOP_SIGNALS) process.on(signal, handler);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, handler);
      };
    },
    reportFailures: async (record, jobId, failed) => {
      const { reportFailures } = await import('./failures.js');
      await reportFailures(record, jobId, failed, (line) => process.stderr.write(`${line}\n`));
    },
  };
}
