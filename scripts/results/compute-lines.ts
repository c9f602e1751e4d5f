/** The results' compute section: per run the queue, backend, job seconds and estimated cost; then the sweep's total. */
import type { ComputeSummary } from './cost.js';
import { formatCost } from './cost.js';

const HEADERS = ['run', 'state', 'queue', 'backend', 'job s', 'est. cost'] as const;

export function computeCells(summary: ComputeSummary): string[][] {
  return summary.runs.map((run) => [
    run.runId,
    run.state,
    run.queue ?? '—',
    run.backend ?? '—',
    run.seconds === null ? '—' : run.seconds.toFixed(1),
    formatCost(run.cost),
  ]);
}

/** `sweep total: 15 complete runs, 6105 s of job time on the cpu queue; estimated $0.05–0.17 (estimate: …)` */
export function totalLine(summary: ComputeSummary, kind: string): string {
  const complete = summary.runs.filter((run) => run.seconds !== null).length;
  const where = summary.queue === null ? '' : summary.queue === 'local' ? ' on this machine' : ` on the ${summary.queue} queue`;
  const head = `${kind} total: ${complete} complete run${complete === 1 ? '' : 's'}, ${summary.seconds.toFixed(0)} s of job time${where}`;
  if (summary.queue === 'local') return `${head}; no cloud cost`;
  if (summary.cost === null || summary.basis === null) return `${head}; cost not estimated (the queue is not recorded)`;
  return `${head}; estimated ${formatCost(summary.cost)} (${summary.basis}; start-up and image pull not included)`;
}

export function computeTable(summary: ComputeSummary, kind: string): string[] {
  const rows = computeCells(summary);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const render = (cells: readonly string[]) => cells.map((cell, i) => (i === 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return ['', render(HEADERS), render(widths.map((w) => '─'.repeat(w))), ...rows.map(render), totalLine(summary, kind)];
}

export function computeMarkdown(summary: ComputeSummary, kind: string): string[] {
  return [
    '',
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, i) => (i === 4 ? '---:' : '---')).join(' | ')} |`,
    ...computeCells(summary).map((cells) => `| ${cells.join(' | ')} |`),
    '',
    `_${totalLine(summary, kind)}_`,
  ];
}
