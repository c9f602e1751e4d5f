/**
 * Drives the Docker CLI for the end-to-end test: builds the job image offline (docker-build.sh) and
 * runs containers the way AWS Batch does, configured by environment variables only. Every container
 * uses the host network: the engine here has no bridge, and traffic must stay on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CPU_IMAGE_TARGET } from '../../job/shared/stack.js';

/** The Dockerfile's last stage: the GPU image the stack's GPU job definition runs. */
export const GPU_IMAGE_TARGET = 'runtime';
const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));
const LOG_TAIL_LINES = 30;

export interface ContainerResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

export interface RunningContainer {
  readonly name: string;
  /** Settles when the container has exited (or been killed). */
  readonly done: Promise<ContainerResult>;
}

/**
 * Builds the image with test/support/docker-build.sh; the build log goes to `logFile`. By default the
 * CPU variant (the Dockerfile's `cpu` stage), the one the stack's Fargate queue runs and the one the
 * emulator and Docker tests run; `GPU_IMAGE_TARGET` builds the GPU image.
 */
export async function buildImage(tag: string, logFile: string, target: string = CPU_IMAGE_TARGET): Promise<{ seconds: number }> {
  const started = performance.now();
  const log = createWriteStream(logFile);
  const child = spawn('bash', [path.join(SUPPORT_DIR, 'docker-build.sh'), tag, target], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (code !== 0) {
    const tail = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    throw new Error(`docker-build.sh ${tag} exited ${code}; last lines of ${logFile}:\n${tail}`);
  }
  return { seconds: (performance.now() - started) / 1000 };
}

/** `docker run --rm --network host -e K=V … image [args]`, started in the background. */
export function startContainer(
  image: string,
  name: string,
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
): RunningContainer {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  const started = performance.now();
  const child = spawn('docker', ['run', '--rm', '--network', 'host', '--name', name, ...envArgs, image, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<ContainerResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
  return { name, done };
}

export function runContainer(
  image: string,
  name: string,
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
): Promise<ContainerResult> {
  return startContainer(image, name, env, args).done;
}

/** SIGKILL, as a spot reclaim or `docker kill` delivers it: no chance to write anything more. */
export function killContainer(name: string): void {
  const result = spawnSync('docker', ['kill', name], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker kill ${name} exited ${result.status}: ${result.stderr.trim()}`);
}

/** Removes leftovers of a failed test; a container that is already gone is fine. */
export function removeContainers(names: readonly string[]): void {
  if (names.length > 0) spawnSync('docker', ['rm', '--force', ...names], { stdio: 'ignore' });
}

/** The JSON-lines events the job prints when its output is not a terminal (as on Batch). */
export function jobEvents(stdout: string): { event: string; [field: string]: unknown }[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string });
}
