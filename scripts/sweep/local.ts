/** The local executor: every grid point as a `mixup run` child process on this machine. */
import { GRID_ENV } from '../../job/shared/grid.js';
import type { SweepRecord, SweepRun } from '../../job/shared/sweep-record.js';
import type { ChildLike, SweepDeps } from './deps.js';
import type { SweepOutcome } from './record.js';
import { formatCounts } from './wait.js';

/** Runs every grid point as `mixup run` child processes, at most `concurrency` at once. */
export async function runLocal(record: SweepRecord, sweepUri: string, deps: SweepDeps): Promise<SweepOutcome> {
  const concurrency = record.local!.concurrency;
  const state = new Map<string, string>(record.runs.map((run) => [run.runId, 'PENDING']));
  const show = () => {
    const counts: Record<string, number> = {};
    for (const value of state.values()) counts[value] = (counts[value] ?? 0) + 1;
    (deps.status ?? deps.log)(formatCounts(counts, record.runs.length));
  };
  deps.log(`sweep ${record.sweepId}: ${record.runs.length} runs, ${concurrency} at a time; plan in ${sweepUri}`);
  const queue = [...record.runs];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      state.set(run.runId, 'RUNNING');
      show();
      const ok = await runChild(run, record, deps);
      state.set(run.runId, ok ? 'SUCCEEDED' : 'FAILED');
      show();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, record.runs.length) }, worker));
  const counts: Record<string, number> = {};
  for (const value of state.values()) counts[value] = (counts[value] ?? 0) + 1;
  const failed = record.runs.filter((run) => state.get(run.runId) === 'FAILED').map((run) => run.runId);
  deps.log(`sweep ${record.sweepId} finished: ${formatCounts(counts, record.runs.length)}`);
  return { record, sweepUri, dryRun: false, final: counts, failed };
}

function runChild(run: SweepRun, record: SweepRecord, deps: SweepDeps): Promise<boolean> {
  const env: NodeJS.ProcessEnv = {};
  // The sweep's settings are the whole truth for its children: a stray MIXUP_ALPHA in the user's
  // shell must not change one point of the grid.
  for (const [name, value] of Object.entries(deps.env)) {
    if (!name.startsWith('MIXUP_') && !name.startsWith('AWS_BATCH_')) env[name] = value;
  }
  Object.assign(env, record.environment, { [GRID_ENV.index]: String(run.index) });
  return new Promise((resolve) => {
    let child: ChildLike;
    try {
      child = deps.spawn(deps.cli.command, [...deps.cli.args, 'run'], { env });
    } catch (error) {
      deps.log(`[${run.runId}] could not start: ${(error as Error).message}`);
      resolve(false);
      return;
    }
    for (const stream of [child.stdout, child.stderr]) forwardLines(stream, (line) => deps.log(`[${run.runId}] ${line}`));
    child.once('error', (error) => {
      deps.log(`[${run.runId}] could not start: ${error.message}`);
      resolve(false);
    });
    child.once('close', (code, signal) => {
      if (code !== 0) deps.log(`[${run.runId}] exited with ${signal ?? `code ${code}`}`);
      resolve(code === 0);
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
