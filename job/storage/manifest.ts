/**
 * `manifest.json`, written LAST: its presence is what makes a run complete. Readers treat a run
 * without it as incomplete, whatever else is there. Checkpoints are working state, not results,
 * so they are never listed.
 *
 * The writer re-reads every object from storage and hashes the stored bytes, rather than trusting
 * hashes computed before upload: the manifest then vouches for what a reader will actually get,
 * and a run's artifacts are small (well under a MiB each), so the extra reads cost little.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

import { NotFoundError } from '../errors.js';
import { contentTypeOf } from './content-type.js';
import { CONTENT_TYPES, type Storage } from './storage.js';
import { CHECKPOINT_DIR, MANIFEST_KEY } from '../shared/layout.js';
import { parseStoredJson } from '../shared/stored-json.js';

export const MANIFEST_VERSION = 1;

const manifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  runId: z.string().min(1),
  createdAt: z.string(),
  objects: z.array(
    z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      contentType: z.string().min(1),
    }),
  ),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestObject = Manifest['objects'][number];

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Hashes each stored object in `keys` and writes `manifest.json` after them. Call it only once every
 * artifact is written; a storage error here leaves no manifest, so the run stays incomplete.
 */
export async function writeManifest(storage: Storage, runId: string, keys: readonly string[]): Promise<Manifest> {
  const listed = [...new Set(keys)].filter((key) => key !== MANIFEST_KEY && !key.startsWith(`${CHECKPOINT_DIR}/`)).sort();
  const objects: ManifestObject[] = [];
  for (const key of listed) {
    const bytes = await storage.read(key);
    objects.push({ key, size: bytes.length, sha256: sha256(bytes), contentType: contentTypeOf(key) });
  }
  const manifest: Manifest = { version: MANIFEST_VERSION, runId, createdAt: new Date().toISOString(), objects };
  await storage.write(MANIFEST_KEY, `${JSON.stringify(manifest, null, 2)}\n`, CONTENT_TYPES.json);
  return manifest;
}

/** The run's manifest, or null when there is none (the run is incomplete). */
export async function readManifest(storage: Storage): Promise<Manifest | null> {
  let text: string;
  try {
    text = (await storage.read(MANIFEST_KEY)).toString('utf8');
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
  return parseStoredJson(storage.uriOf(MANIFEST_KEY), text, manifestSchema, `a version ${MANIFEST_VERSION} manifest`);
}

/** Every listed object's size and SHA-256 against storage; one sentence per problem, empty when sound. */
export async function verifyManifest(storage: Storage, manifest: Manifest): Promise<string[]> {
  return (await verifyManifestObjects(storage, manifest)).map((mismatch) => mismatch.problem);
}

export interface ManifestMismatch {
  readonly key: string;
  readonly problem: string;
}

/** The listed objects that are missing or differ from the manifest, each with its sentence. */
export async function verifyManifestObjects(storage: Storage, manifest: Manifest): Promise<ManifestMismatch[]> {
  const mismatches: ManifestMismatch[] = [];
  for (const object of manifest.objects) {
    const uri = storage.uriOf(object.key);
    const add = (problem: string) => mismatches.push({ key: object.key, problem });
    let bytes: Buffer;
    try {
      bytes = await storage.read(object.key);
    } catch (error) {
      if (error instanceof NotFoundError) {
        add(`${uri} is listed in the manifest but missing`);
        continue;
      }
      throw error;
    }
    if (bytes.length !== object.size) {
      add(`${uri} has ${bytes.length} bytes; the manifest says ${object.size}`);
    } else if (sha256(bytes) !== object.sha256) {
      add(`${uri} has SHA-256 ${sha256(bytes)}; the manifest says ${object.sha256}`);
    }
  }
  return mismatches;
}
