/**
 * moto's server (an AWS emulator: S3, SSM, IAM, Logs, Batch, … on one endpoint) on 127.0.0.1 and a
 * free port, from the virtualenv test/support/moto-venv.sh makes. Its Batch runs jobs as real
 * containers on the local Docker engine; MOTO_DOCKER_NETWORK_MODE=host puts them on the host network,
 * where 127.0.0.1 reaches the emulator (no bridge exists here, and `host.docker.internal` does not
 * resolve on this engine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { freePort } from './free-port.js';
import { venvTool } from './venv-tool.js';

const START_TIMEOUT_MS = 60_000;
/** moto's default account. */
export const MOTO_ACCOUNT = '123456789012';
export const MOTO_REGION = 'us-east-1';

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  /** Points the AWS SDK (and, with `--endpoint-url`, the aws CLI) at the emulator with dummy credentials. */
  readonly env: Record<string, string>;
  readonly logFile: string;
  /** Stops the server (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

/** The virtualenv's `moto_server`, creating the venv when needed. */
export function motoServerPath(): string {
  return venvTool('moto-venv.sh');
}

export { freePort };

export async function startMotoServer(logFile: string): Promise<MotoServer> {
  const binary = motoServerPath();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile);
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_DOCKER_NETWORK_MODE: 'host' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = once(async () => {
    await kill(child, exited);
    await new Promise<void>((resolve) => log.end(resolve));
  });
  try {
    await waitUntilUp(endpoint, exited);
  } catch (error) {
    await stop();
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`${(error as Error).message}; last lines of ${logFile}:\n${tail}`);
  }
  return {
    endpoint,
    port,
    logFile,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: MOTO_REGION,
      AWS_DEFAULT_REGION: MOTO_REGION,
    },
    stop,
  };
}

async function waitUntilUp(endpoint: string, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`moto_server exited with ${gone} before answering`);
    try {
      // moto's own API answers without any AWS signature.
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000}s`);
}

async function kill(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}
