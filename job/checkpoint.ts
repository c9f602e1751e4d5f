import * as tf from '@tensorflow/tfjs';

import { JobError } from './errors.js';
import { checkpointStateSchema, type CheckpointState, type EpochPartial, type TensorSpec } from './shared/checkpoint-state.js';
import { CHECKPOINT_DIR, CHECKPOINT_STATE, CHECKPOINT_TAGS } from './shared/layout.js';
import type { RunConfig } from './shared/metrics.js';
import { parseStoredJson } from './shared/stored-json.js';
import { CONTENT_TYPES, type Storage } from './storage/storage.js';

export const EMPTY_PARTIAL: EpochPartial = { steps: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 };

export interface Resumable {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
}

/** Settings that change what a run computes; a run id cannot be reused with others. */
const IDENTITY_KEYS = ['alpha', 'epochs', 'batchSize', 'seed', 'valSamples', 'trainLimit', 'arms'] as const;

export function assertSameExperiment(saved: RunConfig, wanted: RunConfig, where: string): void {
  const changed = IDENTITY_KEYS.filter((key) => saved[key] !== wanted[key]);
  if (changed.length > 0) {
    const detail = changed.map((key) => `${key} ${saved[key]} → ${wanted[key]}`).join(', ');
    throw new JobError(`run ${wanted.runId} at ${where} was started with other settings (${detail}); use a new --run-id`);
  }
}

/**
 * tfjs' Adam keeps β₁ᵗ and β₂ᵗ as running products that `setWeights` recomputes with `pow`, which
 * rounds differently; they are saved and restored as they are, so a resumed run matches bit for bit.
 */
const ADAM_PRODUCTS = ['accBeta1', 'accBeta2'] as const;

function adamProducts(optimizer: tf.Optimizer): { name: string; tensor: tf.Variable }[] {
  const fields = optimizer as unknown as Partial<Record<(typeof ADAM_PRODUCTS)[number], tf.Variable>>;
  return ADAM_PRODUCTS.flatMap((name) => (fields[name] ? [{ name, tensor: fields[name] }] : []));
}

export async function readCheckpoint(storage: Storage): Promise<CheckpointState | null> {
  if (!(await storage.exists(CHECKPOINT_STATE))) return null;
  const text = (await storage.read(CHECKPOINT_STATE)).toString('utf8');
  let state: CheckpointState;
  try {
    state = parseStoredJson(storage.uriOf(CHECKPOINT_STATE), text, checkpointStateSchema, 'a version 1 checkpoint state');
  } catch (error) {
    throw error instanceof JobError ? new JobError(`${error.message}; ${DISCARD_HINT}`) : error;
  }
  if (state.tensors) {
    const stored = (await storage.list(`${CHECKPOINT_DIR}/`)).find((o) => o.key === state.tensors!.key);
    const specs = [...state.tensors.model, ...state.tensors.optimizer, ...state.tensors.optimizerProducts];
    const floats = specs.reduce((n, spec) => Math.max(n, spec.offset + spec.shape.reduce((x, y) => x * y, 1)), 0);
    const where = `checkpoint ${storage.uriOf(CHECKPOINT_STATE)} is damaged: its tensors ${storage.uriOf(state.tensors.key)}`;
    if (!stored) throw new JobError(`${where} are missing; ${DISCARD_HINT}`);
    if (stored.size !== floats * 4) throw new JobError(`${where} have ${stored.size} bytes, the state needs ${floats * 4}; ${DISCARD_HINT}`);
  }
  return state;
}

/** Deletes the run's checkpoint (state and tensors), for a start from scratch. */
export async function discardCheckpoint(storage: Storage): Promise<void> {
  await Promise.all((await storage.list(`${CHECKPOINT_DIR}/`)).map((o) => storage.delete(o.key)));
}

const DISCARD_HINT = 'start again with --discard-checkpoint to train this run from scratch';

function pack(named: { name: string; tensor: tf.Tensor }[], offset: number, chunks: Float32Array[]): TensorSpec[] {
  return named.map(({ name, tensor }) => {
    const values = tensor.dataSync() as Float32Array;
    chunks.push(values);
    const spec = { name, shape: tensor.shape, offset };
    offset += values.length;
    return spec;
  });
}

/**
 * Writes the tensors, then the state that points at them: a crash in between leaves the previous
 * state, and the tensors it points at, intact.
 */
export async function writeCheckpoint(
  storage: Storage,
  base: Omit<CheckpointState, 'version' | 'savedAt' | 'tensors'>,
  training: Resumable | null,
): Promise<void> {
  let tensors: CheckpointState['tensors'] = null;
  const previous = await storage.list(`${CHECKPOINT_DIR}/`);
  if (training && base.current) {
    const chunks: Float32Array[] = [];
    const modelNamed = training.model.getWeights().map((tensor, i) => ({ name: `model/${i}`, tensor }));
    const model = pack(modelNamed, 0, chunks);
    const optimizerNamed = await training.optimizer.getWeights();
    const offset = chunks.reduce((n, c) => n + c.length, 0);
    const optimizer = pack(optimizerNamed, offset, chunks);
    const productsOffset = chunks.reduce((n, c) => n + c.length, 0);
    const optimizerProducts = pack(adamProducts(training.optimizer), productsOffset, chunks);
    const { arm, epoch, partial } = base.current;
    const key = `${CHECKPOINT_DIR}/${arm}-epoch${epoch}-step${partial.steps}.f32`;
    const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
    await storage.write(key, bytes, CONTENT_TYPES.binary, CHECKPOINT_TAGS);
    tensors = { key, model, optimizer, optimizerProducts };
  }
  const state: CheckpointState = { version: 1, savedAt: new Date().toISOString(), ...base, tensors };
  await storage.write(CHECKPOINT_STATE, JSON.stringify(state, null, 2), CONTENT_TYPES.json, CHECKPOINT_TAGS);
  // Only now that the new state is in place are the older tensors unreferenced.
  const stale = previous.map((o) => o.key).filter((key) => key.endsWith('.f32') && key !== tensors?.key);
  await Promise.all(stale.map((key) => storage.delete(key)));
}

function unpack(buffer: Float32Array, specs: TensorSpec[]): { name: string; tensor: tf.Tensor }[] {
  return specs.map(({ name, shape, offset }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { name, tensor: tf.tensor(buffer.slice(offset, offset + size), shape, 'float32') };
  });
}

/** Loads the checkpoint's weights and optimizer state into a fresh model and optimizer. */
export async function restoreTraining(storage: Storage, state: CheckpointState, training: Resumable): Promise<void> {
  if (!state.tensors) throw new JobError(`checkpoint at ${storage.uriOf(CHECKPOINT_STATE)} holds no tensors`);
  const bytes = await storage.read(state.tensors.key);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const model = unpack(floats, state.tensors.model);
  training.model.setWeights(model.map((n) => n.tensor));
  model.forEach((n) => n.tensor.dispose());
  // setWeights on an optimizer takes the tensors over as its variables' initial values.
  const optimizer = unpack(floats, state.tensors.optimizer);
  await training.optimizer.setWeights(optimizer);
  optimizer.forEach((n) => n.tensor.dispose());
  const products = new Map(adamProducts(training.optimizer).map((p) => [p.name, p.tensor]));
  for (const { name, tensor } of unpack(floats, state.tensors.optimizerProducts)) {
    products.get(name)?.assign(tensor);
    tensor.dispose();
  }
}
