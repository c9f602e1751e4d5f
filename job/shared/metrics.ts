/**
 * The shape of `metrics.json`, the one file every reader (results, report, tests) relies on: the
 * types the job writes and the schema readers parse it with, side by side so they cannot drift.
 * Bump `METRICS_VERSION` when a field changes meaning.
 */
import { z } from 'zod';

import { METHOD_NAME_PATTERN, runConfigSchema, type RunConfig } from './run-settings.js';

/**
 * 2: `config.method` names the augmented arm's augmentation, and `arms` holds that arm under the method's
 * name beside `baseline`; 1 (read only): written when MixUp was the only method (no `config.method`).
 */
export const METRICS_VERSION = 2;
/** For messages: what a reader of metrics.json accepts. */
export const METRICS_VERSIONS = 'a version 1 or 2 metrics.json';

/** `baseline` (the arm without augmentation) or the augmented arm, named by its method (`mixup`, `cutmix`, …). */
export type ArmName = string;

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
  readonly version: 1 | typeof METRICS_VERSION;
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
  readonly arms: Record<ArmName, ArmMetrics>;
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

/** Arm name → its metrics. */
export const armsSchema = z.record(z.string().regex(METHOD_NAME_PATTERN), armMetricsSchema);

export const deviceSchema: z.ZodType<DeviceRecord> = z.object({
  kind: z.enum(['gpu', 'cpu', 'wasm']),
  gpus: z.array(z.object({ name: z.string(), computeCapability: z.string().nullable(), driverVersion: z.string().nullable() })),
  cudaDriverVersion: z.string().nullable(),
  cudaRuntimeVersion: z.string().nullable(),
  tensorflowGpu: z.boolean().nullable(),
  notes: z.array(z.string()),
});

export const metricsSchema: z.ZodType<Metrics> = z.object({
  version: z.union([z.literal(1), z.literal(METRICS_VERSION)]),
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
