/** The Batch executor: the whole grid as ONE array job (a plain job for a one-point grid). */
import type { KeyValuePair, SubmitJobCommandInput } from '@aws-sdk/client-batch';

import { JobError } from '../../job/errors.js';
import { SWEEP_FILE } from '../../job/shared/layout.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import type { Storage } from '../../job/storage/storage.js';
import type { SweepDeps } from './deps.js';
import { DEFAULT_POLL_SECONDS, type SweepOptions } from './plan.js';
import { writeRecord, type SweepOutcome } from './record.js';
import { waitForBatch } from './wait.js';

/** The exact SubmitJob input of a sweep. */
export function renderSubmitJob(record: SweepRecord): SubmitJobCommandInput {
  const batch = record.batch!;
  const environment: KeyValuePair[] = Object.entries(record.environment).map(([name, value]) => ({ name, value }));
  return {
    jobName: batch.jobName,
    jobQueue: batch.jobQueue,
    jobDefinition: batch.jobDefinition,
    ...(batch.arraySize !== null ? { arrayProperties: { size: batch.arraySize } } : {}),
    containerOverrides: { environment },
    tags: { 'mixup:sweep-id': record.sweepId },
    propagateTags: true,
  };
}

export async function submitBatch(
  record: SweepRecord,
  storage: Storage,
  sweepUri: string,
  options: SweepOptions,
  deps: SweepDeps,
): Promise<SweepOutcome> {
  let response;
  try {
    response = await deps.batch().submitJob(renderSubmitJob(record));
  } catch (error) {
    // Nothing was submitted, so the record would describe a sweep that does not exist.
    await storage.delete(SWEEP_FILE);
    throw new JobError(`AWS Batch refused the sweep's job: ${(error as Error).message}`, { cause: error });
  }
  const submitted: SweepRecord = {
    ...record,
    batch: { ...record.batch!, jobId: response.jobId ?? null, jobArn: response.jobArn ?? null },
  };
  await writeRecord(storage, submitted);
  deps.log(`submitted ${record.batch!.jobName} (${response.jobId}): ${record.runs.length} runs; plan in ${sweepUri}`);
  if (!options.wait || !response.jobId) return { record: submitted, sweepUri, dryRun: false, final: null, failed: [] };
  const { counts, failed } = await waitForBatch(submitted, response.jobId, options.pollSeconds ?? DEFAULT_POLL_SECONDS, deps, options.timeoutSeconds);
  if (failed.length > 0) await deps.reportFailures?.(submitted, response.jobId, failed);
  return { record: submitted, sweepUri, dryRun: false, final: counts, failed };
}

