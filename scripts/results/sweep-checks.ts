/**
 * A sweep's runs checked against what the sweep asked of them. A run folder holds whatever was put there
 * (a run of other epochs copied in, a rerun from another folder on other data), and its manifest only
 * vouches for its own bytes; so before a run is averaged in, its metrics.json must record the sweep's
 * settings (epochs, batch size, validation count, training limit, data, backend), and every complete run
 * must have trained on the same data contents and backend as the others.
 */
import { RUN_OPTIONS } from '../../job/config.js';
import type { Metrics } from '../../job/shared/metrics.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';
import type { RunResult } from './read.js';

/** The settings a sweep passes to every run and that change what a run computes. */
const CHECKED = ['epochs', 'batchSize', 'valSamples', 'trainLimit'] as const;

/** One phrase per setting of `metrics` that differs from the sweep's, e.g. `epochs 2, the sweep's 1`. */
export function settingsMismatches(record: SweepRecord, metrics: Metrics): string[] {
  const differences: string[] = [];
  for (const name of CHECKED) {
    const asked = expected(record, name);
    const recorded = metrics.config[name];
    // The training limit is recorded as used: a limit above the data's size is clamped to it.
    const same = name === 'trainLimit' && asked !== null && recorded !== null ? recorded <= (asked as number) : recorded === asked;
    if (!same) differences.push(`${name} ${show(recorded)}, the sweep's ${show(asked)}`);
  }
  const backend = expected(record, 'backend');
  if (backend !== 'auto' && metrics.backend !== backend) differences.push(`backend ${metrics.backend}, the sweep's ${String(backend)}`);
  // sweep.json records the data resolved (an absolute path or a URI); a relative one, from before, says nothing.
  if (record.data !== null && /^([a-z][a-z0-9+.-]*:\/\/|\/)/i.test(record.data) && metrics.config.data !== record.data) {
    differences.push(`data ${metrics.config.data}, the sweep's ${record.data}`);
  }
  return differences;
}

/** The sweep's value of a setting: as given to the sweep, else the job's default. */
function expected(record: SweepRecord, name: (typeof CHECKED)[number] | 'backend'): unknown {
  const option = RUN_OPTIONS[name];
  const given = record.settings[name];
  const text = given !== undefined ? String(given) : option.default;
  if (text === undefined) return null;
  const parsed = option.schema.safeParse(text);
  return parsed.success ? parsed.data : text;
}

/**
 * Complete runs whose data contents (run.json's SHA-256s) or backend differ from the most common among
 * the sweep's complete runs: each becomes invalid, naming what differs. Runs without run.json (from
 * before it) are judged by their backend alone.
 */
export function outliers(runs: readonly RunResult[]): RunResult[] {
  const complete = runs.filter((run) => run.state === 'complete');
  const usual = (key: (run: RunResult) => string | null) => {
    const counts = new Map<string, number>();
    for (const run of complete) {
      const value = key(run);
      if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  };
  const dataOf = (run: RunResult) => (run.dataSha256 ? JSON.stringify(Object.entries(run.dataSha256).sort()) : null);
  const usualData = usual(dataOf);
  const usualBackend = usual((run) => run.backend);
  return runs.map((run) => {
    if (run.state !== 'complete') return run;
    const problems: string[] = [];
    const data = dataOf(run);
    if (data !== null && usualData !== null && data !== usualData) {
      const files = Object.keys(run.dataSha256!).filter((file) => !usualData.includes(`"${file}","${run.dataSha256![file]}"`));
      problems.push(`${run.uri}/run.json: trained on other data than the sweep's other runs (${files.join(', ')} SHA-256 differ)`);
    }
    if (usualBackend !== null && run.backend !== usualBackend) {
      problems.push(`${run.uri}: trained on backend ${run.backend}, the sweep's other runs on ${usualBackend}`);
    }
    return problems.length === 0 ? run : { ...run, state: 'invalid', accuracy: {}, problems };
  });
}

function show(value: unknown): string {
  return value === null ? 'none' : String(value);
}
