/** The local executor: every grid point as a `mixup run` child process on this machine. */
import { GRID_ENV } from '../../job/shared/grid.js';
import type { SweepRecord, SweepRun } from '../../job/shared/sweep-record.js';
import { DOWNLOAD_IDLE_ENV } from '../../job/data/download.js';
import { ALLOW_UNSAFE_STORE_ENV } from '../../job/shared/unsafe-store.js';
import type { ChildLike, SweepDeps } from './deps.js';
import type { SweepOutcome } from './record.js';
import { formatCounts } from './wait.js';

/** `mixup run` exits 143 when a signal stopped it after writing its checkpoint. */
const CHECKPOINTED_EXIT = 143;

export interface LocalRunOptions {
  /** Runs at once. */
  readonly concurrency: number;
  /** Run ids already complete (a rerun of the sweep id): not started again. */
  readonly skip?: ReadonlySet<string>;
  /** Run ids whose manifest does not verify: started with --discard-checkpoint. */
  readonly retrain?: ReadonlySet<string>;
}

/**
 * Runs every grid point as `mixup run` child processes, at most `concurrency` at once. SIGTERM or
 * SIGINT starts no further run and forwards one SIGTERM to each running child, which checkpoints
 * and exits 143; a second signal is forwarded too, and the children then exit at once.
 */
export async function runLocal(record: SweepRecord, sweepUri: string, deps: SweepDeps, options: LocalRunOptions): Promise<SweepOutcome> {
  const { concurrency } = options;
  const skip = options.skip ?? new Set<string>();
  const state = new Map<string, string>(record.runs.map((run) => [run.runId, skip.has(run.runId) ? 'SKIPPED' : 'PENDING']));
  const counts = () => {
    const counted: Record<string, number> = {};
    for (const value of state.values()) counted[value] = (counted[value] ?? 0) + 1;
    return counted;
  };
  const show = () => (deps.status ?? deps.log)(formatCounts(counts(), record.runs.length));
  const queue = record.runs.filter((run) => !skip.has(run.runId));
  deps.log(
    `sweep ${record.sweepId}: ${queue.length} runs, ${concurrency} at a time` +
      `${skip.size > 0 ? `; ${skip.size} complete before, skipped` : ''}; plan in ${sweepUri}`,
  );
  const running = new Map<string, ChildLike>();
  let stoppedBy: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    const again = stoppedBy !== undefined;
    stoppedBy ??= signal;
    deps.log(
      again
        ? `sweep ${record.sweepId}: ${signal} again: stopping ${running.size} runs at once, without checkpoints`
        : `sweep ${record.sweepId}: ${signal}: asking ${running.size} running runs to checkpoint and stop; ${queue.length} not started`,
    );
    for (const child of running.values()) child.kill('SIGTERM');
  };
  const unsubscribe = deps.onSignal?.(stop);
  const worker = async () => {
    for (let run = queue.shift(); run && !stoppedBy; run = queue.shift()) {
      state.set(run.runId, 'RUNNING');
      show();
      const code = await runChild(run, record, deps, running, options.retrain?.has(run.runId) ?? false);
      state.set(run.runId, code === 0 ? 'SUCCEEDED' : stoppedBy && code === CHECKPOINTED_EXIT ? 'INTERRUPTED' : 'FAILED');
      show();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
  } finally {
    unsubscribe?.();
  }
  const withState = (wanted: string) => record.runs.filter((run) => state.get(run.runId) === wanted).map((run) => run.runId);
  const final = counts();
  const interrupted = withState('INTERRUPTED');
  const notStarted = withState('PENDING');
  if (stoppedBy) {
    deps.log(
      `sweep ${record.sweepId} stopped by ${stoppedBy}: ${formatCounts(final, record.runs.length)}; ` +
        `${interrupted.length} checkpointed, ${notStarted.length} not started — the same command with --sweep-id ${record.sweepId} continues the sweep`,
    );
  } else {
    deps.log(`sweep ${record.sweepId} finished: ${formatCounts(final, record.runs.length)}`);
  }
  return {
    record, sweepUri, dryRun: false, final, failed: withState('FAILED'),
    ...(stoppedBy ? { stoppedBy } : {}), interrupted, skipped: withState('SKIPPED'),
  };
}

/** Resolves with the child's exit code (null: killed by a signal it did not handle; -1: never started). */
function runChild(run: SweepRun, record: SweepRecord, deps: SweepDeps, running: Map<string, ChildLike>, retrain: boolean): Promise<number | null> {
  const env: NodeJS.ProcessEnv = {};
  // The sweep's settings are the whole truth for its children: a stray MIXUP_ALPHA in the user's
  // shell must not change one point of the grid. MIXUP_ALLOW_UNSAFE_STORE is no run setting but the
  // user's word about the store they chose, so it reaches the children; so does the download
  // inactivity limit, which is about the user's link, not the experiment.
  for (const [name, value] of Object.entries(deps.env)) {
    const passed = !name.startsWith('MIXUP_') || name === ALLOW_UNSAFE_STORE_ENV || name === DOWNLOAD_IDLE_ENV;
    if (passed && !name.startsWith('AWS_BATCH_')) env[name] = value;
  }
  Object.assign(env, record.environment, { [GRID_ENV.index]: String(run.index) });
  return new Promise((resolve) => {
    let child: ChildLike;
    try {
      child = deps.spawn(deps.cli.command, [...deps.cli.args, 'run', ...(retrain ? ['--discard-checkpoint'] : [])], { env });
    } catch (error) {
      deps.log(`[${run.runId}] could not start: ${(error as Error).message}`);
      resolve(-1);
      return;
    }
    running.set(run.runId, child);
    for (const stream of [child.stdout, child.stderr]) forwardLines(stream, (line) => deps.log(`[${run.runId}] ${line}`));
    child.once('error', (error) => {
      running.delete(run.runId);
      deps.log(`[${run.runId}] could not start: ${error.message}`);
      resolve(-1);
    });
    child.once('close', (code, signal) => {
      running.delete(run.runId);
      if (code !== 0) deps.log(`[${run.runId}] exited with ${signal ?? `code ${code}`}`);
      resolve(code);
    });
  });
}

function forwardLines(stream: NodeJS.ReadableStream | null, emit: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    // Progress bars redraw with '\r'; only whole lines are worth forwarding.
    const lines = (pending + chunk).split(/\r?\n|\r/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) emit(line);
  });
  stream.on('end', () => {
    if (pending.trim()) emit(pending);
  });
}
