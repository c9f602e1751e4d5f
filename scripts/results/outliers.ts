/**
 * A sweep's complete runs compared with each other: every run must have trained on the same data
 * contents and with the same backend as the others, or its numbers are not comparable with theirs.
 */
import type { RunResult } from './read.js';

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
