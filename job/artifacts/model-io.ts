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

/**
 * Saves in the TensorFlow.js layers format (`model.json` + `weights.bin`), the same files
 * `tf.loadLayersModel('file://…/model.json')` or a browser reads. Weights first, so a reader
 * that finds `model.json` finds its weights too.
 */
export async function saveModel(model: tf.LayersModel, storage: Storage, prefix: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await storage.write(`${prefix}/${WEIGHTS_BIN}`, toBuffer(artifacts.weightData!), CONTENT_TYPES.binary);
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      };
      await storage.write(`${prefix}/${MODEL_JSON}`, JSON.stringify(modelJson), CONTENT_TYPES.json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
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
