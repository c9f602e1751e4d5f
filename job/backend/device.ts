/**
 * Which device a run really trains on. libtensorflow loads without a usable GPU and quietly runs on
 * the CPU, so a successful backend start proves nothing: this asks the native binding whether
 * TensorFlow placed its context on a GPU, and nvidia-smi what the driver sees, and says so in
 * metrics.json and the log. `MIXUP_REQUIRE_GPU=1` (the Batch job definition sets it) turns a run
 * without one into an immediate failure instead of hours of CPU training on a GPU bill.
 */
import { execFile } from 'node:child_process';

import * as tf from '@tensorflow/tfjs';

import { JobError, UsageError } from '../errors.js';
import type { DeviceRecord, GpuRecord } from '../shared/metrics.js';
import { REQUIRE_GPU_ENV } from '../shared/stack.js';
import type { SelectedBackend } from './select.js';
import { GPU_PACKAGE } from './tensorflow-binding.js';

const QUERY = ['--query-gpu=name,compute_cap,driver_version', '--format=csv,noheader'];
/** nvidia-smi before 510 does not know compute_cap. */
const OLD_QUERY = ['--query-gpu=name,driver_version', '--format=csv,noheader'];
const SMI_TIMEOUT_MS = 15_000;

/** Runs nvidia-smi with the arguments; resolves its stdout, rejects with an Error whose message says why. */
export type SmiRunner = (args: readonly string[]) => Promise<string>;

export interface DeviceProbe {
  readonly smi: SmiRunner;
  /** tfjs-node's `backend().isUsingGpuDevice` (TensorFlow's device list as the binding saw it). */
  readonly tensorflowGpu: () => boolean | null;
  readonly env: NodeJS.ProcessEnv;
}

export const defaultProbe = (): DeviceProbe => ({ smi: runNvidiaSmi, tensorflowGpu: nativeUsesGpu, env: process.env });

/** `MIXUP_REQUIRE_GPU`: 1/true or 0/false/unset; anything else is a usage error, not a silent no. */
export function gpuRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = (env[REQUIRE_GPU_ENV] ?? '').trim().toLowerCase();
  if (raw === '1' || raw === 'true') return true;
  if (raw === '' || raw === '0' || raw === 'false') return false;
  throw new UsageError(`${REQUIRE_GPU_ENV}=${JSON.stringify(env[REQUIRE_GPU_ENV])}: must be 1, true, 0 or false`);
}

export async function detectDevice(selected: SelectedBackend, probe: DeviceProbe = defaultProbe()): Promise<DeviceRecord> {
  const notes: string[] = [];
  const { gpus, cudaDriverVersion } = await queryGpus(probe.smi, notes);
  const cudaRuntimeVersion = probe.env.CUDA_VERSION?.trim() || null;
  if (selected.backend !== 'tensorflow') {
    return { kind: selected.backend, gpus, cudaDriverVersion, cudaRuntimeVersion, tensorflowGpu: null, notes };
  }
  const tensorflowGpu = selected.package === GPU_PACKAGE ? probe.tensorflowGpu() : false;
  if (selected.package !== GPU_PACKAGE) notes.push(`${selected.package} is TensorFlow's CPU build`);
  else if (tensorflowGpu === false) notes.push('libtensorflow loaded but placed no device on a GPU (CUDA or cuDNN libraries, or the driver, not usable)');
  // An old binding cannot say; then the driver listing a GPU is the best evidence there is.
  const onGpu = tensorflowGpu ?? (selected.package === GPU_PACKAGE && gpus.length > 0);
  return { kind: onGpu ? 'gpu' : 'cpu', gpus, cudaDriverVersion, cudaRuntimeVersion, tensorflowGpu, notes };
}

/** Throws the one-line refusal when a GPU is required and the run would not train on one. */
export function assertGpu(device: DeviceRecord, selected: SelectedBackend): void {
  if (device.kind === 'gpu') return;
  const missing =
    selected.backend !== 'tensorflow'
      ? [
          `no GPU backend started, so the job would train on ${selected.backend}` +
            (selected.failures.length > 0 ? ` (${selected.failures.join('; ')})` : ''),
          ...device.notes,
        ]
      : device.notes;
  throw new JobError(`${REQUIRE_GPU_ENV}=1 but no usable GPU: ${missing.join('; ')}`);
}

/** "gpu: 1 × Tesla T4 (compute 7.5), driver 580.95.05, CUDA driver 13.0 / image 11.7.99; TensorFlow on the GPU" */
export function describeDevice(device: DeviceRecord): string {
  const parts: string[] = [device.kind];
  if (device.gpus.length > 0) {
    const first = device.gpus[0]!;
    const cc = first.computeCapability ? ` (compute ${first.computeCapability})` : '';
    parts.push(`${device.gpus.length} × ${first.name}${cc}, driver ${first.driverVersion ?? '?'}`);
  }
  if (device.cudaDriverVersion || device.cudaRuntimeVersion) {
    parts.push(`CUDA driver ${device.cudaDriverVersion ?? '?'} / image ${device.cudaRuntimeVersion ?? '?'}`);
  }
  if (device.tensorflowGpu !== null) parts.push(device.tensorflowGpu ? 'TensorFlow on the GPU' : 'TensorFlow NOT on a GPU');
  return [parts.join(': '), ...device.notes].join('; ');
}

/** Parses `--query-gpu=name,compute_cap,driver_version --format=csv,noheader` (or without compute_cap). */
export function parseGpuQuery(csv: string, withComputeCap: boolean): GpuRecord[] {
  return csv
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const fields = line.split(',').map((field) => field.trim());
      const value = (field: string | undefined) => (field && !/^\[?N\/A\]?$|^\[Not Supported\]$/i.test(field) ? field : null);
      return withComputeCap
        ? { name: fields[0] ?? '', computeCapability: value(fields[1]), driverVersion: value(fields[2]) }
        : { name: fields[0] ?? '', computeCapability: null, driverVersion: value(fields[1]) };
    });
}

/** The "CUDA Version: 13.0" of nvidia-smi's header. */
export function parseCudaVersion(header: string): string | null {
  return /CUDA Version:\s*([0-9.]+)/.exec(header)?.[1] ?? null;
}

async function queryGpus(smi: SmiRunner, notes: string[]): Promise<{ gpus: GpuRecord[]; cudaDriverVersion: string | null }> {
  let gpus: GpuRecord[];
  try {
    gpus = parseGpuQuery(await smi(QUERY), true);
  } catch (error) {
    const message = (error as Error).message;
    if (!/not a valid field/i.test(message)) {
      notes.push(`nvidia-smi: ${message}`);
      return { gpus: [], cudaDriverVersion: null };
    }
    try {
      gpus = parseGpuQuery(await smi(OLD_QUERY), false);
    } catch (retry) {
      notes.push(`nvidia-smi: ${(retry as Error).message}`);
      return { gpus: [], cudaDriverVersion: null };
    }
  }
  if (gpus.length === 0) notes.push('nvidia-smi lists no GPU');
  let cudaDriverVersion: string | null = null;
  try {
    cudaDriverVersion = parseCudaVersion(await smi([]));
  } catch {
    // The query above answered; the header is a nicety.
  }
  return { gpus, cudaDriverVersion };
}

function runNvidiaSmi(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nvidia-smi', [...args], { timeout: SMI_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'not found (no NVIDIA driver mounted into this container)' : firstLine(stderr || stdout) || error.message;
      reject(new Error(why));
    });
  });
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '') ?? '';
}

function nativeUsesGpu(): boolean | null {
  const flag = (tf.backend() as { isUsingGpuDevice?: unknown }).isUsingGpuDevice;
  return typeof flag === 'boolean' ? flag : null;
}
