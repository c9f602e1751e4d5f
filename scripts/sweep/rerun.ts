/**
 * Running a sweep id again: the same plan continues (complete runs skipped, the others started
 * again, each resuming from its checkpoint); another plan under the same id is refused.
 */
import { SWEEP_RUNS_DIR } from '../../job/shared/layout.js';
import { DEFAULT_METHOD, RUN_SETTINGS, type ForwardedSetting } from '../../job/shared/run-settings.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import { readManifest, verifyManifest } from '../../job/storage/manifest.js';
import type { Storage } from '../../job/storage/storage.js';

/** What differs between the recorded sweep and the one asked for, as `what recorded → asked`. */
export function sweepDifferences(recorded: SweepRecord, asked: SweepRecord): string[] {
  const differences: string[] = [];
  const compare = (what: string, before: string, after: string) => {
    if (before !== after) differences.push(`${what} ${before} → ${after}`);
  };
  compare('--executor', recorded.executor, asked.executor);
  // Sweeps recorded before methods (version 2) compared MixUp alone.
  compare('--methods', (recorded.grid.methods ?? [DEFAULT_METHOD]).join(','), (asked.grid.methods ?? [DEFAULT_METHOD]).join(','));
  compare('--alphas', recorded.grid.alphas.join(','), asked.grid.alphas.join(','));
  compare('seeds', recorded.grid.seeds.join(','), asked.grid.seeds.join(','));
  compare('--data', recorded.data ?? '(default)', asked.data ?? '(default)');
  compare('runs in', recorded.runsUri, asked.runsUri);
  const names = [...new Set([...Object.keys(recorded.settings), ...Object.keys(asked.settings)])].sort();
  for (const name of names) {
    const flag = RUN_SETTINGS[name as ForwardedSetting]?.flag ?? name;
    const text = (value: string | number | undefined) => (value === undefined ? '(default)' : String(value));
    compare(flag, text(recorded.settings[name]), text(asked.settings[name]));
  }
  return differences;
}

/**
 * The runs of `record` whose manifest is there and verifies (complete, so not run again), and those
 * whose manifest is there but does not (damaged: started again with --discard-checkpoint, so a run whose
 * training results no longer match is trained again, while one whose damage the run can mend is mended).
 */
export async function completeRuns(sweep: Storage, record: SweepRecord): Promise<{ complete: Set<string>; damaged: Set<string> }> {
  const complete = new Set<string>();
  const damaged = new Set<string>();
  await Promise.all(
    record.runs.map(async ({ runId }) => {
      const run = sweep.child(`${SWEEP_RUNS_DIR}/${runId}`);
      // A damaged manifest is the child's to report: it starts again and says what is wrong.
      const manifest = await readManifest(run).catch(() => 'damaged' as const);
      if (manifest === null) return;
      if (manifest !== 'damaged' && (await verifyManifest(run, manifest)).length === 0) complete.add(runId);
      else damaged.add(runId);
    }),
  );
  return { complete, damaged };
}
