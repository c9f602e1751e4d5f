/** The results as a terminal table, CSV, JSON or Markdown. */
import type { Interval } from '../../job/stats.js';
import type { ResultRow, ResultsSummary } from './aggregate.js';
import { computeMarkdown, computeTable } from './compute-lines.js';
import { RUN_STATES } from './read.js';

export const RESULT_FORMATS = ['table', 'csv', 'json', 'md'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];
export const DEFAULT_FORMAT: ResultFormat = 'table';

export const HEADERS = ['method', 'α', 'seeds', 'method acc %', 'baseline acc %', 'method − baseline (pp)', 'runs'] as const;
/** The columns of numbers, right-aligned. */
const NUMERIC = new Set([1, 2]);

/** `86.80 ± 0.45`; a lone value has no interval. */
export function formatInterval(interval: Interval | null, signed = false): string {
  if (!interval) return '—';
  const fixed = percent(interval.mean);
  const mean = signed && Number(fixed) > 0 ? `+${fixed}` : fixed;
  return interval.halfWidth === null ? `${mean} (n=1)` : `${mean} ± ${percent(interval.halfWidth)}`;
}

/** Two decimals of a percentage, without the '-0.00' that rounding a tiny negative gives. */
function percent(fraction: number): string {
  const text = (fraction * 100).toFixed(2);
  return Number(text) === 0 ? '0.00' : text;
}

/** `3/3 complete` or `1/3 complete, 1 running, 1 missing`. */
export function formatRunCounts(row: ResultRow): string {
  const rest = RUN_STATES.filter((state) => state !== 'complete' && row.runs[state] > 0).map((state) => `${row.runs[state]} ${state}`);
  return [`${row.runs.complete}/${row.total} complete`, ...rest].join(', ');
}

export function tableCells(row: ResultRow): string[] {
  const seeds = Math.max(row.augmented?.n ?? 0, row.baseline?.n ?? 0);
  return [
    row.method,
    String(row.alpha),
    String(seeds),
    formatInterval(row.augmented),
    formatInterval(row.baseline),
    formatInterval(row.difference, true),
    formatRunCounts(row),
  ];
}

export function formatResults(summary: ResultsSummary, format: ResultFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(summary, null, 2);
    case 'csv':
      return formatCsv(summary);
    case 'md':
      return formatMarkdown(summary);
    case 'table':
      return formatTable(summary);
  }
}

function caption(summary: ResultsSummary): string {
  const level = Math.round(summary.level * 100);
  return (
    `${summary.kind} ${summary.id} (${summary.uri}): test accuracy of each method's arm and of the baseline, mean ± ${level} % CI over seeds (Student t); ` +
    'difference paired by seed, in percentage points'
  );
}

function formatTable(summary: ResultsSummary): string {
  const rows = summary.rows.map(tableCells);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const render = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : NUMERIC.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return [
    caption(summary), '', render(HEADERS), render(widths.map((w) => '─'.repeat(w))), ...rows.map(render), ...problemLines(summary),
    ...computeTable(summary.compute, summary.kind),
  ]
    .join('\n')
    .replace(/\s+$/gm, '');
}

function formatMarkdown(summary: ResultsSummary): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `_${caption(summary)}_`,
    '',
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, i) => (NUMERIC.has(i) ? '---:' : '---')).join(' | ')} |`,
    ...summary.rows.map((row) => `| ${tableCells(row).map(escape).join(' | ')} |`),
    ...problemLines(summary).map((line) => (line ? `- ${line.trim()}` : line)),
    ...computeMarkdown(summary.compute, summary.kind),
  ].join('\n');
}

function problemLines(summary: ResultsSummary): string[] {
  const invalid = summary.runs.filter((run) => run.state === 'invalid');
  if (invalid.length === 0) return [];
  // A shared baseline's problem belongs to every row it pairs with: said once, with every row it leaves out.
  const byProblem = new Map<string, string[]>();
  for (const run of invalid) {
    const problem = run.problems.join('; ');
    byProblem.set(problem, [...(byProblem.get(problem) ?? []), run.runId]);
  }
  return ['', 'Invalid runs (left out):', ...[...byProblem].map(([problem, ids]) => `  ${ids.join(', ')}: ${problem}`)];
}

export const CSV_COLUMNS = [
  'method', 'alpha', 'arm', 'n', 'mean', 'sd', 'ci_low', 'ci_high', 'complete', 'running', 'failed', 'incomplete', 'invalid', 'missing',
] as const;

/** One row per method, α and quantity (the method's arm, baseline, difference): fractions, full precision. */
function formatCsv(summary: ResultsSummary): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  const value = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));
  for (const row of summary.rows) {
    for (const [arm, interval] of [[row.method, row.augmented], ['baseline', row.baseline], ['difference', row.difference]] as const) {
      lines.push(
        [
          row.method, row.alpha, arm, interval?.n ?? 0, value(interval?.mean), value(interval?.sd), value(interval?.low), value(interval?.high),
          ...RUN_STATES.map((state) => row.runs[state]),
        ].join(','),
      );
    }
  }
  return lines.join('\n');
}

