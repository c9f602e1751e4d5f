import * as tf from '@tensorflow/tfjs';

import { JobError } from './errors.js';
import {
  CHECKPOINT_VERSION,
  checkpointStateSchema,
  checkpointStateV1Schema,
  type ArmProgress,
  type CheckpointState,
  type CheckpointStateV1,
  type EpochPartial,
  type TensorSet,
  type TensorSpec,
} from './shared/checkpoint-state.js';
import { CHECKPOINT_DIR, CHECKPOINT_STATE, CHECKPOINT_TAGS } from './shared/layout.js';
import { IDENTITY_SETTINGS, type RunConfig } from './shared/run-settings.js';
import { parseStoredJson } from './shared/stored-json.js';
import { CONTENT_TYPES, type Storage } from './storage/storage.js';

export const EMPTY_PARTIAL: EpochPartial = { steps: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 };

export interface Resumable {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
}

/**
 * For runs from before run.json, whose settings only their checkpoint holds: the settings that change
 * what a run computes (the settings table's identity), as given; a run id cannot be reused with others.
 */
export function assertSameExperiment(saved: RunConfig, wanted: RunConfig, where: string): void {
  const changed = IDENTITY_SETTINGS.filter((key) => saved[key] !== wanted[key]);
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

/**
 * The run's checkpoint, as version 2 (a version 1 state, with its one `current` arm, is read as the
 * same thing); null when there is none. Each arm's tensors must exist and have the size its specs need.
 */
export async function readCheckpoint(storage: Storage): Promise<CheckpointState | null> {
  if (!(await storage.exists(CHECKPOINT_STATE))) return null;
  const uri = storage.uriOf(CHECKPOINT_STATE);
  const text = (await storage.read(CHECKPOINT_STATE)).toString('utf8');
  let state: CheckpointState;
  try {
    state = isVersion1(text) ? fromVersion1(uri, parseStoredJson(uri, text, checkpointStateV1Schema, 'a version 1 checkpoint state'))
      : parseStoredJson(uri, text, checkpointStateSchema, `a version ${CHECKPOINT_VERSION} checkpoint state`);
  } catch (error) {
    throw error instanceof JobError ? new JobError(`${error.message}; ${DISCARD_HINT}`) : error;
  }
  const stored = await storage.list(`${CHECKPOINT_DIR}/`);
  for (const { tensors } of Object.values(state.inTraining)) {
    const found = stored.find((o) => o.key === tensors.key);
    const where = `checkpoint ${uri} is damaged: its tensors ${storage.uriOf(tensors.key)}`;
    if (!found) throw new JobError(`${where} are missing; ${DISCARD_HINT}`);
    const floats = floatCount(tensors);
    if (found.size !== floats * 4) throw new JobError(`${where} have ${found.size} bytes, the state needs ${floats * 4}; ${DISCARD_HINT}`);
  }
  return state;
}

function isVersion1(text: string): boolean {
  try {
    return (JSON.parse(text) as { version?: unknown } | null)?.version === 1;
  } catch {
    return false;
  }
}

function fromVersion1(uri: string, v1: CheckpointStateV1): CheckpointState {
  const { current, tensors, version: _version, ...rest } = v1;
  if (current && !tensors) throw new JobError(`checkpoint ${uri} is damaged: the ${current.arm} arm in training has no tensors`);
  return { ...rest, version: CHECKPOINT_VERSION, inTraining: current && tensors ? { [current.arm]: { progress: current, tensors } } : {} };
}

function floatCount(tensors: TensorSet): number {
  const specs = [...tensors.model, ...tensors.optimizer, ...tensors.optimizerProducts];
  return specs.reduce((n, spec) => Math.max(n, spec.offset + spec.shape.reduce((x, y) => x * y, 1)), 0);
}

/** Deletes the run's checkpoint (state and tensors), for a start from scratch. */
export async function discardCheckpoint(storage: Storage): Promise<void> {
  await Promise.all((await storage.list(`${CHECKPOINT_DIR}/`)).map((o) => storage.delete(o.key)));
}

const DISCARD_HINT = 'start again with --discard-checkpoint to train this run from scratch';

/** One arm's training state as plain floats: what a checkpoint stores, and what a worker thread can post. */
export interface TrainingSnapshot {
  readonly model: NamedFloats[];
  readonly optimizer: NamedFloats[];
  readonly optimizerProducts: NamedFloats[];
}

export interface NamedFloats {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
}

function floatsOf(named: { name: string; tensor: tf.Tensor }[]): NamedFloats[] {
  // A copy: a backend may hand out a view of memory that the next step overwrites.
  return named.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], values: Float32Array.from(tensor.dataSync() as Float32Array) }));
}

export async function snapshotTraining(training: Resumable): Promise<TrainingSnapshot> {
  return {
    model: floatsOf(training.model.getWeights().map((tensor, i) => ({ name: `model/${i}`, tensor }))),
    optimizer: floatsOf(await training.optimizer.getWeights()),
    optimizerProducts: floatsOf(adamProducts(training.optimizer)),
  };
}

/** Writes one arm's tensors to their own object (named by arm, epoch and step) and returns where they lie. */
export async function writeArmTensors(storage: Storage, progress: ArmProgress, snapshot: TrainingSnapshot): Promise<TensorSet> {
  const chunks: Float32Array[] = [];
  let offset = 0;
  const pack = (named: NamedFloats[]): TensorSpec[] =>
    named.map(({ name, shape, values }) => {
      chunks.push(values);
      const spec = { name, shape, offset };
      offset += values.length;
      return spec;
    });
  const model = pack(snapshot.model);
  const optimizer = pack(snapshot.optimizer);
  const optimizerProducts = pack(snapshot.optimizerProducts);
  const key = `${CHECKPOINT_DIR}/${progress.arm}-epoch${progress.epoch}-step${progress.partial.steps}.f32`;
  const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  await storage.write(key, bytes, CONTENT_TYPES.binary, CHECKPOINT_TAGS);
  return { key, model, optimizer, optimizerProducts };
}

/**
 * Writes the state, after the tensors it points at (`writeArmTensors`): a crash in between leaves the
 * previous state, and the tensors it points at, intact. Then deletes tensors no arm points at.
 */
export async function writeState(storage: Storage, base: Omit<CheckpointState, 'version' | 'savedAt'>): Promise<void> {
  const previous = await storage.list(`${CHECKPOINT_DIR}/`);
  const state: CheckpointState = { version: CHECKPOINT_VERSION, savedAt: new Date().toISOString(), ...base };
  await storage.write(CHECKPOINT_STATE, JSON.stringify(state, null, 2), CONTENT_TYPES.json, CHECKPOINT_TAGS);
  const referenced = new Set(Object.values(state.inTraining).map((entry) => entry.tensors.key));
  const stale = previous.map((o) => o.key).filter((key) => key.endsWith('.f32') && !referenced.has(key));
  await Promise.all(stale.map((key) => storage.delete(key)));
}

/** The floats of one arm's tensors, for `restoreFromFloats` (here or in a worker thread). */
export async function readArmTensors(storage: Storage, tensors: TensorSet): Promise<Float32Array> {
  const bytes = await storage.read(tensors.key);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function unpack(buffer: Float32Array, specs: TensorSpec[]): { name: string; tensor: tf.Tensor }[] {
  return specs.map(({ name, shape, offset }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { name, tensor: tf.tensor(buffer.slice(offset, offset + size), shape, 'float32') };
  });
}

/** Loads an arm's saved weights and optimizer state into a fresh model and optimizer. */
export async function restoreFromFloats(floats: Float32Array, tensors: TensorSet, training: Resumable): Promise<void> {
  const model = unpack(floats, tensors.model);
  training.model.setWeights(model.map((n) => n.tensor));
  model.forEach((n) => n.tensor.dispose());
  // setWeights on an optimizer takes the tensors over as its variables' initial values.
  const optimizer = unpack(floats, tensors.optimizer);
  await training.optimizer.setWeights(optimizer);
  optimizer.forEach((n) => n.tensor.dispose());
  const products = new Map(adamProducts(training.optimizer).map((p) => [p.name, p.tensor]));
  for (const { name, tensor } of unpack(floats, tensors.optimizerProducts)) {
    products.get(name)?.assign(tensor);
    tensor.dispose();
  }
}
