/**
 * A worker thread that trains one arm on its own tfjs backend instance (each thread has its own tfjs
 * engine and its own wasm module), so two arms use two cores. It talks to the main thread, which
 * owns storage, the lease and the terminal, by messages only (job/commands/arm-thread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs';

import { trainArmJob, type ArmData, type ArmEnd, type ArmJob } from '../arm-training.js';
import { initBackend, type BackendName } from '../backend/select.js';
import type { NamedFloats, TrainingSnapshot } from '../checkpoint.js';
import { JobError } from '../errors.js';
import type { ArmProgress } from '../shared/checkpoint-state.js';
import type { EpochRecord } from '../shared/metrics.js';
import type { StepProgress } from '../train.js';

/** What a worker starts with: it loads its backend at once, before it has an arm to train. */
export interface ArmWorkerStart {
  readonly backend: BackendName;
}

/** The arm, sent as the worker's first message (so the worker can start while the run is still loading data). */
export interface ArmWorkerData {
  readonly job: ArmJob;
  readonly initial: NamedFloats[];
  /** Views of SharedArrayBuffers: the main thread's data, not a copy. */
  readonly data: ArmData;
  /** [0] ≠ 0: stop at the next step boundary (SIGTERM). Shared, so it is seen between any two steps. */
  readonly stop: Int32Array;
}

export type ArmWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'step'; readonly progress: StepProgress }
  | { readonly type: 'epoch'; readonly progress: ArmProgress; readonly record: EpochRecord; readonly snapshot: TrainingSnapshot }
  | { readonly type: 'end'; readonly end: ArmEnd }
  | { readonly type: 'error'; readonly message: string; readonly stack: string | null; readonly jobError: boolean; readonly exitCode: number };

const nextMessage = (port: NonNullable<typeof parentPort>) => new Promise<unknown>((resolve) => port.once('message', resolve));

async function main(port: NonNullable<typeof parentPort>, start: ArmWorkerStart): Promise<void> {
  const post = (message: ArmWorkerMessage) => port.postMessage(message);
  try {
    // Both at once: the backend loads while the main thread reads the data and sends the arm.
    const [, message] = await Promise.all([initBackend(start.backend), nextMessage(port)]);
    const input = message as ArmWorkerData;
    const initial = input.initial.map((w) => tf.tensor(w.values, w.shape, 'float32'));
    // Start together: a thread that starts up faster would otherwise train alone for a while.
    post({ type: 'ready' });
    await nextMessage(port);
    const end = await trainArmJob(input.job, initial, input.data, {
      step: (progress) => post({ type: 'step', progress }),
      epochEnd: async (progress, record, snapshot) => post({ type: 'epoch', progress, record, snapshot }),
      shouldStop: () => Atomics.load(input.stop, 0) !== 0,
    });
    initial.forEach((t) => t.dispose());
    post({ type: 'end', end });
  } catch (error) {
    const jobError = error instanceof JobError;
    post({
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? (error.stack ?? null) : null,
      jobError,
      exitCode: jobError ? error.exitCode : 1,
    });
  }
}

if (parentPort) await main(parentPort, workerData as ArmWorkerStart);
