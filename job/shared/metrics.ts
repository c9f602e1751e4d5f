/**
 * The shape of `metrics.json`, the one file every reader (results, report, tests) relies on: the
 * types the job writes and the schema readers parse it with, side by side so they cannot drift.
 * Bump `METRICS_VERSION` when a field changes meaning.
 */
import { z } from 'zod';

import { alphaSchema } from './alpha.js';

export const METRICS_VERSION = 1;
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export const ARMS = ['both', 'mixup', 'baseline'] as const;
/** Whether a run trains its two arms at once (worker threads); it changes how fast, never what is computed. */
export const PARALLEL_ARMS = ['auto', 'on', 'off'] as const;

export type ArmName = 'mixup' | 'baseline';

export interface EpochRecord {
  readonly epoch: number; // 1-based
  readonly loss: number;
  readonly accuracy: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  readonly seconds: number;
}

export interface ArmMetrics {
  readonly history: EpochRecord[];
  readonly test: { readonly loss: number; readonly accuracy: number };
  /** Training images per second over the arm's train steps (validation excluded). */
  readonly imagesPerSecond: number;
}

export interface RunConfig {
  readonly alpha: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly valSamples: number;
  /** null: the whole training split. */
  readonly trainLimit: number | null;
  readonly data: string;
  readonly out: string;
  readonly runId: string;
  readonly backend: (typeof BACKENDS)[number];
  readonly arms: (typeof ARMS)[number];
  readonly parallelArms: (typeof PARALLEL_ARMS)[number];
}

/** One GPU as `nvidia-smi --query-gpu=name,compute_cap,driver_version` lists it. */
export interface GpuRecord {
  readonly name: string;
  /** e.g. '7.5' (T4); null where nvidia-smi is too old to report it. */
  readonly computeCapability: string | null;
  readonly driverVersion: string | null;
}

/**
 * The device the run actually trained on (metrics.json `device`, absent in files written before it
 * existed). `kind` is 'gpu' only when the native backend itself placed work on a GPU.
 */
export interface DeviceRecord {
  readonly kind: 'gpu' | 'cpu' | 'wasm';
  readonly gpus: readonly GpuRecord[];
  /** The highest CUDA version the driver supports (nvidia-smi's header); null without nvidia-smi. */
  readonly cudaDriverVersion: string | null;
  /** The CUDA toolkit the image carries (the GPU image sets CUDA_VERSION); null elsewhere. */
  readonly cudaRuntimeVersion: string | null;
  /** tfjs-node's own answer (its binding lists TensorFlow's devices); null for wasm/cpu or an old binding. */
  readonly tensorflowGpu: boolean | null;
  /** Why a GPU was not seen, e.g. "nvidia-smi: not found"; empty on a clean GPU run. */
  readonly notes: readonly string[];
}

export interface Metrics {
  readonly version: typeof METRICS_VERSION;
  readonly runId: string;
  readonly config: RunConfig;
  /** The backend that actually ran: 'tensorflow' (tfjs-node-gpu / tfjs-node), 'wasm' or 'cpu'. */
  readonly backend: string;
  /** e.g. { node: '20.20.2', '@tensorflow/tfjs': '4.22.0', 'tfjs-node-gpu': null } */
  readonly versions: Record<string, string | null>;
  /** Absent in metrics.json written before device detection. */
  readonly device?: DeviceRecord;
  /** What was actually trained on: counts after the split, and which integrity checks passed. */
  readonly dataset: {
    readonly location: string;
    readonly train: number;
    readonly val: number;
    readonly test: number;
    /** Every file matched the published Fashion-MNIST checksums. */
    readonly standard: boolean;
    /** The location's SHA256SUMS file was present and matched. */
    readonly sha256sums: boolean;
    readonly loadSeconds: number;
  };
  readonly startedAt: string; // ISO 8601
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly arms: Partial<Record<ArmName, ArmMetrics>>;
}

// A NaN the job computed is `null` in JSON, which z.number() refuses; the bounds refuse the rest of
// what cannot be a measurement (an accuracy of 5.0 would print as 500 %).
const loss = z.number().nonnegative();
const accuracy = z.number().min(0, 'must be a fraction from 0 to 1').max(1, 'must be a fraction from 0 to 1');
const nonNegative = z.number().nonnegative();

export const epochSchema = z.object({
  epoch: z.number().int().positive(),
  loss,
  accuracy,
  valLoss: loss,
  valAccuracy: accuracy,
  seconds: nonNegative,
});

export const armMetricsSchema: z.ZodType<ArmMetrics> = z.object({
  history: z.array(epochSchema),
  test: z.object({ loss, accuracy }),
  imagesPerSecond: nonNegative,
});

export const runConfigSchema: z.ZodType<RunConfig> = z.object({
  alpha: alphaSchema,
  epochs: z.number().int(),
  batchSize: z.number().int(),
  seed: z.number().int(),
  valSamples: z.number().int(),
  trainLimit: z.number().int().nullable(),
  data: z.string(),
  out: z.string(),
  runId: z.string(),
  backend: z.enum(BACKENDS),
  arms: z.enum(ARMS),
  // Absent in files written before the setting existed.
  parallelArms: z.enum(PARALLEL_ARMS).default('auto'),
});

export const armsSchema = z.object({ mixup: armMetricsSchema.optional(), baseline: armMetricsSchema.optional() });

export const deviceSchema: z.ZodType<DeviceRecord> = z.object({
  kind: z.enum(['gpu', 'cpu', 'wasm']),
  gpus: z.array(z.object({ name: z.string(), computeCapability: z.string().nullable(), driverVersion: z.string().nullable() })),
  cudaDriverVersion: z.string().nullable(),
  cudaRuntimeVersion: z.string().nullable(),
  tensorflowGpu: z.boolean().nullable(),
  notes: z.array(z.string()),
});

export const metricsSchema: z.ZodType<Metrics> = z.object({
  version: z.literal(METRICS_VERSION),
  runId: z.string(),
  config: runConfigSchema,
  backend: z.string(),
  versions: z.record(z.string(), z.string().nullable()),
  device: deviceSchema.optional(),
  dataset: z.object({
    location: z.string(),
    train: z.number().int(),
    val: z.number().int(),
    test: z.number().int(),
    standard: z.boolean(),
    sha256sums: z.boolean(),
    loadSeconds: z.number(),
  }),
  startedAt: z.string(),
  finishedAt: z.string(),
  wallSeconds: z.number(),
  arms: armsSchema,
});
