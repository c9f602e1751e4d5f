/** The sweep record (`sweep.json`, schema in job/shared/sweep-record.ts): writing it, reading it back, and what a sweep returns. */
import { JobError, NotFoundError } from '../../job/errors.js';
import { SWEEP_FILE } from '../../job/shared/layout.js';
import { parseStoredJson } from '../../job/shared/stored-json.js';
import { sweepRecordSchema, SWEEP_VERSIONS, type SweepRecord } from '../../job/shared/sweep-record.js';
import { CONTENT_TYPES, type Storage } from '../../job/storage/storage.js';

export interface SweepOutcome {
  readonly record: SweepRecord;
  readonly sweepUri: string;
  readonly dryRun: boolean;
  /** Final count per state when the sweep was followed to its end; null otherwise. */
  readonly final: Readonly<Record<string, number>> | null;
  /** Run ids of failed children (when followed to the end). */
  readonly failed: readonly string[];
  /** Local executor: the signal that stopped the sweep before its end; absent when it ran out. */
  readonly stoppedBy?: NodeJS.Signals;
  /** Local executor: runs stopped by the signal (checkpointed; a rerun of the sweep resumes them). */
  readonly interrupted?: readonly string[];
  /** Local executor: runs already complete when a rerun of the sweep id began, left alone. */
  readonly skipped?: readonly string[];
}

export async function writeRecord(storage: Storage, record: SweepRecord): Promise<void> {
  await storage.write(SWEEP_FILE, `${JSON.stringify(record, null, 2)}\n`, CONTENT_TYPES.json);
}


/** The sweep record under `base`; a missing, damaged or foreign file is one line naming it. */
export async function readSweepRecord(base: Storage): Promise<SweepRecord> {
  let text: string;
  try {
    text = (await base.read(SWEEP_FILE)).toString('utf8');
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new JobError(`no sweep at ${base.uri}: ${base.uriOf(SWEEP_FILE)} does not exist; check --sweep and --results`);
    }
    throw error;
  }
  return parseStoredJson(base.uriOf(SWEEP_FILE), text, sweepRecordSchema, SWEEP_VERSIONS);
}
