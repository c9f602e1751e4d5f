/** Following a Batch sweep to its end: one status line per poll, then which children failed. */
import { JobError } from '../../job/errors.js';
import { arrayIndexOf } from '../../job/shared/grid.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import type { BatchApi } from '../batch-client.js';
import type { SweepDeps } from './deps.js';
import { diagnoseRunnable, RUNNABLE_DIAGNOSIS_AFTER_MS } from './runnable.js';

const MAX_UNSEEN_POLLS = 3;
/** Batch job states in lifecycle order, for counts that read left to right. */
export const BATCH_STATES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;

/**
 * Polls the array job until it ends, printing a count per state; returns the final counts and failures.
 * Children RUNNABLE for minutes get the compute environments' reasons and a hint; past `timeoutSeconds`
 * it stops with a JobError (the jobs keep running).
 */
export async function waitForBatch(
  record: SweepRecord,
  jobId: string,
  pollSeconds: number,
  deps: Pick<SweepDeps, 'batch' | 'log' | 'status' | 'sleep' | 'now' | 'doctor'>,
  timeoutSeconds?: number,
): Promise<{ counts: Record<string, number>; failed: string[] }> {
  const batch = deps.batch();
  const started = deps.now().getTime();
  let runnableSince: number | null = null;
  let diagnosedAt: number | null = null;
  let unseen = 0;
  for (;;) {
    const now = deps.now().getTime();
    if (timeoutSeconds !== undefined && now - started >= timeoutSeconds * 1000) {
      throw new JobError(
        `--timeout ${timeoutSeconds}s: stopped waiting for sweep ${record.sweepId} (job ${jobId}); its jobs keep running. ` +
          `Read what finished with mixup results --sweep ${record.sweepId}, or stop them with aws batch cancel-job --job-id ${jobId} --reason timeout`,
      );
    }
    const described = await batch.describeJobs([jobId]);
    const job = described.jobs?.[0];
    if (!job) {
      // A job submitted a moment ago can be missing from DescribeJobs for a poll or two.
      if (++unseen > MAX_UNSEEN_POLLS) throw new JobError(`AWS Batch does not know job ${jobId} (sweep ${record.sweepId})`);
      await deps.sleep(pollSeconds * 1000);
      continue;
    }
    const counts: Record<string, number> = job.arrayProperties?.statusSummary
      ? { ...job.arrayProperties.statusSummary }
      : { [job.status ?? 'UNKNOWN']: 1 };
    const line = formatCounts(counts, record.runs.length);
    // An array whose children have all ended is done: AWS then moves the parent to FAILED or
    // SUCCEEDED, and emulators (moto) leave a parent with failed children where it was.
    const size = job.arrayProperties?.size;
    const ended = size !== undefined && size > 0 && (counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0) === size;
    const done = job.status === 'SUCCEEDED' || job.status === 'FAILED' || ended;
    if (deps.status && !done) deps.status(line);
    else deps.log(line);
    if ((counts.RUNNABLE ?? 0) > 0 && !done) {
      runnableSince ??= now;
      const due = diagnosedAt === null ? runnableSince + RUNNABLE_DIAGNOSIS_AFTER_MS : diagnosedAt + RUNNABLE_DIAGNOSIS_AFTER_MS;
      if (now >= due) {
        diagnosedAt = now;
        await explainRunnable(record, jobId, job.arrayProperties !== undefined, Math.round((now - runnableSince) / 60_000), deps);
      }
    } else {
      runnableSince = null;
      diagnosedAt = null;
    }
    if (done) {
      if ((counts.FAILED ?? 0) === 0 && job.status !== 'FAILED') return { counts, failed: [] };
      return { counts, failed: await failedRuns(batch, record, jobId, job.status === 'FAILED' && !job.arrayProperties) };
    }
    await deps.sleep(pollSeconds * 1000);
  }
}

async function explainRunnable(
  record: SweepRecord,
  jobId: string,
  isArray: boolean,
  minutes: number,
  deps: Pick<SweepDeps, 'batch' | 'log' | 'doctor'>,
): Promise<void> {
  deps.log(`children RUNNABLE for ${minutes} min; queue ${record.batch!.jobQueue}:`);
  try {
    const runnable = isArray ? await deps.batch().listJobs({ arrayJobId: jobId, jobStatus: 'RUNNABLE' }) : [];
    if (!deps.doctor) {
      deps.log('  hint: run mixup doctor to check quotas and compute environments');
      return;
    }
    const api = deps.doctor();
    const definition = await api.describeJobDefinition(record.batch!.jobDefinition);
    const vcpus = Number(definition?.containerProperties?.resourceRequirements?.find((r) => r.type === 'VCPU')?.value ?? NaN);
    for (const line of await diagnoseRunnable(api, record.batch!.jobQueue, runnable, Number.isFinite(vcpus) ? vcpus : null)) deps.log(line);
  } catch (error) {
    // The diagnosis is a help, not a reason to stop following the sweep.
    deps.log(`  (could not describe the compute environments: ${(error as Error).message}; try mixup doctor)`);
  }
}

async function failedRuns(batch: BatchApi, record: SweepRecord, jobId: string, plainJobFailed: boolean): Promise<string[]> {
  if (plainJobFailed) return [record.runs[0]!.runId];
  const children = await batch.listJobs({ arrayJobId: jobId, jobStatus: 'FAILED' });
  return children
    .map(arrayIndexOf)
    .filter((index) => Number.isSafeInteger(index) && record.runs[index])
    .sort((a, b) => a - b)
    .map((index) => record.runs[index]!.runId);
}

export function formatCounts(counts: Readonly<Record<string, number>>, total: number): string {
  const known = BATCH_STATES.filter((state) => (counts[state] ?? 0) > 0).map((state) => `${state} ${counts[state]}`);
  const other = Object.entries(counts)
    .filter(([state, n]) => !(BATCH_STATES as readonly string[]).includes(state) && n > 0)
    .map(([state, n]) => `${state} ${n}`);
  return `${[...known, ...other].join(' · ') || 'no children yet'} (of ${total})`;
}

