/**
 * The main thread's side of an arm trained in a worker thread (job/commands/arm-worker.ts): starts it
 * with shared data, turns its messages into the same events an arm on the main thread raises, and
 * stops it (at a step boundary, through a shared flag) or ends it (on a failure elsewhere).
 */
import { Worker } from 'node:worker_threads';

import type * as tf from '@tensorflow/tfjs';

import type { ArmData, ArmEnd, ArmEvents, ArmJob } from '../arm-training.js';
import type { BackendName } from '../backend/select.js';
import type { NamedFloats } from '../checkpoint.js';
import type { TrainSplit } from '../data/splits.js';
import { JobError } from '../errors.js';
import type { ArmWorkerData, ArmWorkerMessage, ArmWorkerStart } from './arm-worker.js';

export interface ArmThread {
  /** The thread has its backend and weights, and waits for `go`. */
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<ArmEnd>;
  /** Ask the arm to stop at its next step boundary; it then ends with its state (`stopped: true`). */
  stop(): void;
  /** End the thread now, without its state (another arm failed, or the lease is lost). */
  terminate(): Promise<void>;
}

/**
 * Under tsx (tests, `npm run`) the worker is TypeScript and needs tsx's loader registered inside the
 * thread first (a worker does not run the parent's `--import`); compiled, it is a plain module.
 */
function startWorker(workerData: ArmWorkerStart): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './arm-worker.ts' : './arm-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

type WorkerEvent =
  | { readonly kind: 'message'; readonly message: ArmWorkerMessage }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'exit'; readonly code: number };

/**
 * A worker thread that starts loading its backend now, for an arm it is given later: its start-up
 * (tfjs, the wasm module, the kernels: about a second) then overlaps the main thread's data loading.
 * What it says before it has an arm (a backend that fails to load, an exit) is kept for the arm.
 * Unreferenced until it has an arm, so an idle one never keeps the process alive; `dispose` ends it.
 */
export class ArmWorker {
  readonly worker: Worker;
  private readonly early: WorkerEvent[] = [];
  private handler: ((event: WorkerEvent) => void) | null = null;

  constructor(backend: BackendName) {
    this.worker = startWorker({ backend });
    this.worker.unref();
    const deliver = (event: WorkerEvent) => (this.handler ? this.handler(event) : this.early.push(event));
    this.worker.on('message', (message: ArmWorkerMessage) => deliver({ kind: 'message', message }));
    this.worker.on('error', (error) => deliver({ kind: 'error', error }));
    this.worker.on('exit', (code) => deliver({ kind: 'exit', code }));
  }

  /** Hands every event, the kept ones first, to `handler`. */
  listen(handler: (event: WorkerEvent) => void): void {
    this.handler = handler;
    for (const event of this.early.splice(0)) handler(event);
  }

  dispose(): Promise<number> {
    return this.worker.terminate();
  }
}

export function startArmThread(
  job: ArmJob,
  armWorker: ArmWorker,
  initial: tf.Tensor[],
  data: ArmData,
  events: Omit<ArmEvents, 'shouldStop'>,
  onEpochError: (error: unknown) => void,
): ArmThread {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const initialFloats: NamedFloats[] = initial.map((t, i) => ({ name: `initial/${i}`, shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) }));
  const { worker } = armWorker;
  worker.ref();
  const input: ArmWorkerData = { job, initial: initialFloats, data, stop };
  worker.postMessage(input);
  let settled = false;
  let isReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (isReady = resolve));
  const done = new Promise<ArmEnd>((resolve, reject) => {
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const onMessage = (message: ArmWorkerMessage) => {
      if (settled) return;
      try {
        if (message.type === 'ready') isReady();
        else if (message.type === 'step') events.step(message.progress);
        else if (message.type === 'epoch') events.epochEnd(message.progress, message.record, message.snapshot).catch(onEpochError);
        else if (message.type === 'end') {
          settled = true;
          resolve(message.end);
        } else {
          fail(message.jobError ? new JobError(message.message) : Object.assign(new Error(message.message), { stack: message.stack ?? undefined }));
        }
      } catch (error) {
        // A step event that throws (the lease is lost): the arm ends here.
        fail(error);
      }
    };
    armWorker.listen((event) => {
      if (event.kind === 'message') onMessage(event.message);
      else if (event.kind === 'error') fail(event.error);
      else fail(new Error(`the ${job.settings.arm} arm's worker thread exited with code ${event.code} before it finished`));
    });
  });
  return {
    ready,
    go: () => worker.postMessage('go'),
    done,
    stop: () => Atomics.store(stop, 0, 1),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

/** Copies the splits into SharedArrayBuffers once, so every worker reads the same memory. */
export function shareData(data: ArmData): ArmData {
  // Explicit constructors: the training bytes may be a Buffer, whose constructor is deprecated.
  const share = <T extends Uint8Array | Float32Array>(array: T): T => {
    const buffer = new SharedArrayBuffer(array.byteLength);
    const shared = array instanceof Float32Array ? new Float32Array(buffer) : new Uint8Array(buffer);
    shared.set(array);
    return shared as T;
  };
  const train: TrainSplit = { pixels: share(data.train.pixels), labels: share(data.train.labels), count: data.train.count };
  return {
    train,
    val: { x: share(data.val.x), y: share(data.val.y), count: data.val.count },
    test: { x: share(data.test.x), y: share(data.test.y), count: data.test.count },
  };
}
