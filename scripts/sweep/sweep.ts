/**
 * `mixup sweep`: one grid of (α, seed) runs, as ONE AWS Batch array job or as child processes on this
 * machine. Both write the same layout:
 *
 *   <results>/sweeps/<sweep-id>/sweep.json          the plan, written before anything runs
 *   <results>/sweeps/<sweep-id>/runs/<grid-run-id>/  one `mixup run` per grid point
 */
import { UsageError } from '../../job/errors.js';
import { SWEEP_FILE, SWEEP_RUNS_DIR, SWEEPS_PREFIX } from '../../job/shared/layout.js';
import { MIN_ARRAY_SIZE } from '../../job/shared/grid.js';
import { DEFAULT_STACK_NAME } from '../../job/shared/stack.js';
import { SWEEP_VERSION, type SweepRecord } from '../../job/shared/sweep-record.js';
import type { Storage } from '../../job/storage/storage.js';
import { resolveSweepData } from './data-location.js';
import { defaultSweepDeps, type SweepDeps } from './deps.js';
import { runLocal } from './local.js';
import { childEnvironment, DEFAULT_EXECUTOR, DEFAULT_LOCAL_RESULTS, localThreadEnvironment, planSweep, type SweepOptions } from './plan.js';
import { readSweepRecord, writeRecord, type SweepOutcome } from './record.js';
import { completeRuns, sweepDifferences } from './rerun.js';

/** Plans a sweep, records it, then submits (Batch) or runs (local) it. */
export async function sweep(options: SweepOptions, deps: SweepDeps = defaultSweepDeps()): Promise<SweepOutcome> {
  const executor = options.executor ?? DEFAULT_EXECUTOR;
  const plan = planSweep(options, deps.now());
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;

  // The Batch side (its SDKs among them) loads for a Batch sweep only.
  const target = executor === 'batch' ? await (await import('./queue.js')).resolveBatchTarget(options, stackName, deps.ssm, deps.log) : null;
  const results = target?.results ?? options.results ?? DEFAULT_LOCAL_RESULTS;
  const data = target?.data ?? resolveSweepData(options.data, executor, deps.env);

  const canOpen = !(options.dryRun && results.includes('(results bucket'));
  const sweepStorage = canOpen ? (await deps.openStorage(results, '--results')).child(`${SWEEPS_PREFIX}/${plan.sweepId}`) : null;
  const sweepUri = sweepStorage ? sweepStorage.uriOf(SWEEP_FILE) : `${results}/${SWEEPS_PREFIX}/${plan.sweepId}/${SWEEP_FILE}`;
  const runsUri = sweepStorage ? sweepStorage.child(SWEEP_RUNS_DIR).uri : `${results}/${SWEEPS_PREFIX}/${plan.sweepId}/${SWEEP_RUNS_DIR}`;
  const environment = { ...childEnvironment(plan, runsUri, data), ...(executor === 'local' ? localThreadEnvironment(plan) : {}) };

  const record: SweepRecord = {
    version: SWEEP_VERSION,
    sweepId: plan.sweepId,
    createdAt: plan.createdAt,
    executor,
    grid: {
      methods: [...plan.methods],
      alphas: [...plan.alphas],
      seeds: [...plan.seeds],
      size: plan.runs.length,
      order: "baselines first (index = seedIndex), then one arm per method, α > 0 and seed (index = seeds + (methodIndex × α's + alphaIndex) × seeds + seedIndex)",
    },
    runs: plan.runs,
    settings: plan.settings,
    environment,
    results: results,
    runsUri,
    data,
    batch:
      target
        ? {
            jobName: `mixup-sweep-${plan.sweepId}`,
            jobQueue: target.jobQueue,
            jobDefinition: target.jobDefinition,
            queue: target.queue,
            arraySize: plan.runs.length >= MIN_ARRAY_SIZE ? plan.runs.length : null,
            jobId: null,
            jobArn: null,
          }
        : null,
    local: executor === 'local' ? { concurrency: plan.concurrency } : null,
  };
  if (options.dryRun) return { record, sweepUri, dryRun: true, final: null, failed: [] };

  if (executor === 'batch' && !options.skipChecks && deps.doctor) {
    // Before anything is written: a blocker (a 0 GPU quota, a missing image) would leave jobs RUNNABLE for hours.
    const dataStorage = data!.startsWith('s3://') ? await deps.openStorage(data!, '--data') : null;
    const { preflight } = await import('../doctor/doctor.js');
    await preflight({ stackName, jobQueueArn: target!.jobQueue, jobDefinitionArn: target!.jobDefinition, data: dataStorage }, deps.doctor(), deps.log);
  }
  const storage = sweepStorage!;
  if (await storage.exists(SWEEP_FILE)) return continueSweep(storage, record, sweepUri, plan.concurrency, deps);
  await writeRecord(storage, record);
  if (executor === 'batch') return (await import('./batch.js')).submitBatch(record, storage, sweepUri, options, deps);
  return runLocal(record, sweepUri, deps, { concurrency: plan.concurrency });
}

/** The sweep id exists: the same local sweep continues where it stopped; anything else is refused. */
async function continueSweep(
  storage: Storage,
  asked: SweepRecord,
  sweepUri: string,
  concurrency: number,
  deps: SweepDeps,
): Promise<SweepOutcome> {
  const recorded = await readSweepRecord(storage);
  const differences = sweepDifferences(recorded, asked);
  if (differences.length > 0) {
    throw new UsageError(
      `--sweep-id '${asked.sweepId}' is taken by another plan (${sweepUri}): ${differences.join('; ')}; ` +
        'give the recorded settings to continue it, or choose another id',
    );
  }
  if (recorded.executor === 'batch') {
    // Batch retries its own children; a second array job would race the first for the same runs.
    throw new UsageError(`--sweep-id '${asked.sweepId}' is taken: ${sweepUri} is a Batch sweep, which is not submitted again; choose another id`);
  }
  const { complete: skip, damaged } = await completeRuns(storage, recorded);
  deps.log(
    `sweep ${recorded.sweepId} exists with this plan: continuing it (${skip.size} of ${recorded.runs.length} runs complete; ` +
      'the others start again, resuming from their checkpoints' +
      `${damaged.size > 0 ? `; ${damaged.size} whose manifest does not verify (${[...damaged].join(', ')}) repaired or trained again` : ''})`,
  );
  return runLocal(recorded, sweepUri, deps, { concurrency, skip, retrain: damaged });
}
