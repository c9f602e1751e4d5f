/**
 * The shape of `metrics.json`, the one file every reader (results, report, tests) relies on.
 * Bump `METRICS_VERSION` when a field changes meaning.
 */
export const METRICS_VERSION = 1;

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
  readonly backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  readonly arms: 'both' | 'mixup' | 'baseline';
}

export interface Metrics {
  readonly version: typeof METRICS_VERSION;
  readonly runId: string;
  readonly config: RunConfig;
  /** The backend that actually ran: 'tensorflow' (tfjs-node-gpu / tfjs-node), 'wasm' or 'cpu'. */
  readonly backend: string;
  /** e.g. { node: '20.20.2', '@tensorflow/tfjs': '4.22.0', 'tfjs-node-gpu': null } */
  readonly versions: Record<string, string | null>;
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
