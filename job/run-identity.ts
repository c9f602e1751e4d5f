/**
 * A run's identity: every setting that changes what it computes, the backend that computes it and the
 * checksums of the data it trains on. Written as `run.json` before any other object of the run, and
 * compared by every later start with the same run id, so a reused id with other settings, data or
 * backend is refused instead of silently mixing two experiments (or reporting one under the other's
 * settings).
 */
import { z } from 'zod';

import { IDENTITY_SETTINGS, RUN_SETTINGS, type IdentitySetting, type RunConfig } from './shared/run-settings.js';
import { FILES, type FileRole } from './data/fashion-mnist.js';
import { JobError, NotFoundError } from './errors.js';
import { RUN_IDENTITY } from './shared/layout.js';
import type { Storage } from './storage/storage.js';
import { CONTENT_TYPES } from './storage/storage.js';

export const IDENTITY_KEY = RUN_IDENTITY;
export const IDENTITY_VERSION = 1;

/**
 * The identity settings of the settings table as given, and the data location as resolved (a path,
 * s3:// or URL); the backend, also compared as resolved, is `backend` below.
 */
const settingsSchema = z.object({
  ...(Object.fromEntries(IDENTITY_SETTINGS.map((key) => [key, RUN_SETTINGS[key].stored])) as { [K in IdentitySetting]: (typeof RUN_SETTINGS)[K]['stored'] }),
  data: z.string(),
});

const identitySchema = z.object({
  version: z.literal(IDENTITY_VERSION),
  runId: z.string(),
  settings: settingsSchema,
  /** The backend that ran ('wasm', 'cpu', 'tensorflow'), not the one asked for ('auto'). */
  backend: z.string(),
  /** SHA-256 of each data file's decompressed contents. */
  dataSha256: z.record(z.string(), z.string()),
});

export type RunSettings = z.infer<typeof settingsSchema>;
export type RunIdentity = z.infer<typeof identitySchema>;

export function settingsOf(config: RunConfig, dataLocation: string): RunSettings {
  const given = Object.fromEntries(IDENTITY_SETTINGS.map((key) => [key, config[key]])) as Pick<RunConfig, IdentitySetting>;
  return { ...given, data: dataLocation };
}

export function identityOf(runId: string, settings: RunSettings, backend: string, contentSha256: Readonly<Record<string, string>>): RunIdentity {
  const dataSha256 = Object.fromEntries(Object.entries(contentSha256).map(([role, hex]) => [FILES[role as FileRole] ?? role, hex]));
  return { version: IDENTITY_VERSION, runId, settings, backend, dataSha256 };
}

export async function readIdentity(run: Storage): Promise<RunIdentity | null> {
  let text: string;
  try {
    text = (await run.read(IDENTITY_KEY)).toString('utf8');
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JobError(`${run.uriOf(IDENTITY_KEY)} is not valid JSON; the run's identity is damaged, use a new --run-id`);
  }
  const result = identitySchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new JobError(`${run.uriOf(IDENTITY_KEY)} is not a version ${IDENTITY_VERSION} run identity (${issue.path.join('.') || 'top level'}: ${issue.message}); use a new --run-id`);
  }
  return result.data;
}

export async function writeIdentity(run: Storage, identity: RunIdentity): Promise<void> {
  await run.write(IDENTITY_KEY, `${JSON.stringify(identity, null, 2)}\n`, CONTENT_TYPES.json);
}

/** One phrase per difference, e.g. `alpha 0.2 → 0.9`; empty when they agree. */
export function identityDifferences(saved: Partial<RunIdentity>, wanted: Partial<RunIdentity>): string[] {
  const differences: string[] = [];
  if (saved.settings && wanted.settings) {
    for (const key of Object.keys(settingsSchema.shape) as (keyof RunSettings)[]) {
      if (saved.settings[key] !== wanted.settings[key]) {
        differences.push(`${key} ${show(saved.settings[key])} → ${show(wanted.settings[key])}`);
      }
    }
  }
  if (saved.backend !== undefined && wanted.backend !== undefined && saved.backend !== wanted.backend) {
    differences.push(`backend ${saved.backend} → ${wanted.backend}`);
  }
  if (saved.dataSha256 && wanted.dataSha256) {
    for (const file of new Set([...Object.keys(saved.dataSha256), ...Object.keys(wanted.dataSha256)])) {
      const a = saved.dataSha256[file];
      const b = wanted.dataSha256[file];
      if (a !== b) differences.push(`${file} SHA-256 ${a?.slice(0, 12) ?? 'none'}… → ${b?.slice(0, 12) ?? 'none'}…`);
    }
  }
  return differences;
}

/** Throws one line listing every difference between the stored identity and this start's. */
export function assertSameIdentity(saved: Partial<RunIdentity>, wanted: Partial<RunIdentity>, runId: string, where: string): void {
  const differences = identityDifferences(saved, wanted);
  if (differences.length > 0) {
    throw new JobError(`run ${runId} at ${where} was started with other settings (${differences.join(', ')}); use a new --run-id`);
  }
}

function show(value: unknown): string {
  return value === null ? 'none' : value === '' ? "''" : String(value);
}
