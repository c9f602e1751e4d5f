import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';

import { parseStoredJson } from '../shared/stored-json.js';
import { CONTENT_TYPES, type Storage } from '../storage/storage.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function toBuffer(data: tf.io.WeightData): Buffer {
  const buffers = Array.isArray(data) ? data : [data];
  return Buffer.concat(buffers.map((b) => Buffer.from(b)));
}

/** A model in the TensorFlow.js layers format, as bytes: what `saveModel` writes, and what a worker thread posts. */
export interface ModelFiles {
  readonly weights: Uint8Array;
  readonly modelJson: string;
}

export async function serializeModel(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      };
      files = { weights: toBuffer(artifacts.weightData!), modelJson: JSON.stringify(modelJson) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return files!;
}

/** Weights first, so a reader that finds `model.json` finds its weights too. */
export async function writeModelFiles(files: ModelFiles, storage: Storage, prefix: string): Promise<void> {
  await storage.write(`${prefix}/${WEIGHTS_BIN}`, Buffer.from(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength), CONTENT_TYPES.binary);
  await storage.write(`${prefix}/${MODEL_JSON}`, files.modelJson, CONTENT_TYPES.json);
}

/**
 * Saves in the TensorFlow.js layers format (`model.json` + `weights.bin`), the same files
 * `tf.loadLayersModel('file://…/model.json')` or a browser reads.
 */
export async function saveModel(model: tf.LayersModel, storage: Storage, prefix: string): Promise<void> {
  await writeModelFiles(await serializeModel(model), storage, prefix);
}

/** The parts of a tfjs model.json this reader uses; tfjs checks the topology itself. */
const modelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(
    z.object({
      paths: z.array(z.string().min(1)),
      weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.string() })),
    }),
  ),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
});

/** An IOHandler reading a saved model from any storage, for `tf.loadLayersModel`. */
export function storageLoadHandler(storage: Storage, prefix: string): tf.io.IOHandler {
  return {
    load: async () => {
      const key = `${prefix}/${MODEL_JSON}`;
      const modelJson = parseStoredJson(storage.uriOf(key), (await storage.read(key)).toString('utf8'), modelJsonSchema, 'a saved tfjs model');
      const manifest = modelJson.weightsManifest as tf.io.WeightsManifestConfig;
      const specs = manifest.flatMap((group) => group.weights);
      const parts = await Promise.all(
        manifest.flatMap((group) => group.paths).map((path) => storage.read(`${prefix}/${path}`)),
      );
      const bytes = Buffer.concat(parts);
      return {
        modelTopology: modelJson.modelTopology,
        weightSpecs: specs,
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
      };
    },
  };
}

export function loadModel(storage: Storage, prefix: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(storageLoadHandler(storage, prefix));
}
