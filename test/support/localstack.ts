/**
 * LocalStack (localstack-core, Apache-2.0) as a plain process on this machine: S3, SSM,
 * CloudFormation, IAM, CloudWatch Logs and STS on one endpoint, 127.0.0.1 and a free port, from the
 * virtualenv test/support/localstack-venv.sh makes (no Docker, no account, no network).
 *
 * Everything it writes goes under one temporary directory, removed when it stops: its FILESYSTEM_ROOT
 * (no /var/lib/localstack, which it picks when it thinks it runs in a container), its TMPDIR, and the S3
 * spool it would otherwise keep in /tmp/localstack-s3-storage (localstack-main.py). It is stopped with
 * SIGTERM and, past a bound, SIGKILL: after API calls it can take many seconds to honour SIGTERM, and
 * its state is thrown away anyway. It runs in a process group of its own, so the stop reaches anything
 * it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort } from './free-port.js';
import { venvTool } from './venv-tool.js';

const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));
/** Generous: on a busy 2-core machine loading the services alone has taken 20–30 s. */
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 3_000;
/** What the project's tests use; the rest of LocalStack's services stay off (and cost nothing). */
export const LOCALSTACK_SERVICES = ['s3', 'ssm', 'cloudformation', 'iam', 'logs', 'sts'] as const;
/** LocalStack's default account and the region the tests use. */
export const LOCALSTACK_ACCOUNT = '000000000000';
export const LOCALSTACK_REGION = 'us-east-1';

export interface LocalStack {
  /** e.g. `http://127.0.0.1:43121` */
  readonly endpoint: string;
  /** LocalStack's version, from its health endpoint. */
  readonly version: string;
  /** Points the AWS SDK (and, with `--endpoint-url`, the aws CLI) at it, with dummy credentials. */
  readonly env: Record<string, string>;
  /** The directory holding all its files (removed by stop), or null when it is not ours. */
  readonly root: string | null;
  readonly logFile: string | null;
  /** SIGTERM, SIGKILL after a bound, then its files removed; safe to call twice. A shared one is left running. */
  stop(): Promise<void>;
}

/** The dummy credentials and region that point the SDK at an emulator. */
export function clientEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: LOCALSTACK_REGION,
    AWS_DEFAULT_REGION: LOCALSTACK_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The virtualenv's python, creating the venv when needed (minutes, once). */
export function localStackPython(): string {
  return venvTool('localstack-venv.sh');
}

export { freePort };

export interface StartOptions {
  /** 0 (the default) picks a free one. */
  readonly port?: number;
  /** Where its output goes; default: `localstack.log` in its root (removed with it). */
  readonly logFile?: string;
}

/** Starts a LocalStack of its own; resolves once its services answer. */
export async function startLocalStack(options: StartOptions = {}): Promise<LocalStack> {
  const python = localStackPython();
  const root = await mkdtemp(path.join(os.tmpdir(), 'mixup-localstack-'));
  await mkdir(path.join(root, 'tmp'));
  const port = options.port || (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = options.logFile ?? path.join(root, 'localstack.log');
  const log = createWriteStream(logFile);
  // Nothing of the caller's AWS settings: LocalStack's own internal clients read them too.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const child = spawn(python, [path.join(SUPPORT_DIR, 'localstack-main.py')], {
    env: {
      ...inherited,
      TMPDIR: path.join(root, 'tmp'),
      // Not the container layout (/var/lib/localstack, …), even when /.dockerenv exists.
      OVERRIDE_IN_DOCKER: '0',
      FILESYSTEM_ROOT: root,
      // The twisted gateway binds 0.0.0.0 whatever GATEWAY_LISTEN says; hypercorn binds what it is told.
      GATEWAY_SERVER: 'hypercorn',
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      SERVICES: LOCALSTACK_SERVICES.join(','),
      // Loaded before the gateway opens, so the first request does not wait seconds for its service.
      EAGER_SERVICE_LOADING: '1',
      // No DNS server, no analytics, no certificate download: nothing leaves the machine.
      DNS_ADDRESS: '0',
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      SKIP_INFRA_DOWNLOADS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that dies without stopping it must not leave it running.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  const stop = once(async () => {
    process.removeListener('exit', onExit);
    await killAndWait(child, exited);
    await new Promise<void>((resolve) => log.end(resolve));
    await rm(root, { recursive: true, force: true });
  });
  let version: string;
  try {
    version = await waitUntilReady(endpoint, child);
  } catch (error) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-20).join('\n');
    await stop();
    throw new Error(`${(error as Error).message}; last lines of its log:\n${tail}`);
  }
  return { endpoint, version, env: clientEnv(endpoint), root, logFile, stop };
}

/**
 * The LocalStack at `LOCALSTACK_ENDPOINT` when that is set (one that `npm run localstack` or
 * test/run-all.sh started for many test files: it is left running), otherwise one of its own.
 */
export async function useLocalStack(): Promise<LocalStack> {
  const shared = process.env.LOCALSTACK_ENDPOINT?.replace(/\/+$/, '');
  if (!shared) return startLocalStack();
  const health = await fetchHealth(shared).catch((error: Error) => {
    throw new Error(`LOCALSTACK_ENDPOINT=${shared} does not answer (${error.message}); start it (npm run localstack) or unset it`);
  });
  const missing = LOCALSTACK_SERVICES.filter((service) => !isUp(health.services[service]));
  if (missing.length > 0) throw new Error(`LOCALSTACK_ENDPOINT=${shared} lacks ${missing.join(', ')}`);
  return { endpoint: shared, version: health.version, env: clientEnv(shared), root: null, logFile: null, stop: async () => {} };
}

interface Health {
  readonly version: string;
  readonly services: Record<string, string>;
}

async function fetchHealth(endpoint: string): Promise<Health> {
  const response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as Health;
}

function isUp(state: string | undefined): boolean {
  return state === 'running' || state === 'available';
}

async function waitUntilReady(endpoint: string, child: ChildProcess): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`LocalStack exited with ${child.exitCode ?? child.signalCode} before answering on ${endpoint}`);
    }
    try {
      const health = await fetchHealth(endpoint);
      if (LOCALSTACK_SERVICES.every((service) => isUp(health.services[service]))) return health.version;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`LocalStack did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000}s`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function killAndWait(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  // Whatever it started and left behind in its group.
  killGroup(child, 'SIGKILL');
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}
