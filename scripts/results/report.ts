/**
 * `report.html`: one self-contained page per sweep (no external requests, images as data URIs) with
 * the results table, accuracy against α (a line per method), and for each method and α the learning
 * curves and training samples of its first complete seed.
 */
import { armAugmentation } from '../../job/augmentation-registry.js';
import { RUN_FILES, SWEEP_RUNS_DIR } from '../../job/shared/layout.js';
import type { Storage } from '../../job/storage/storage.js';
import type { ResultsSummary } from './aggregate.js';
import { formatInterval, HEADERS, tableCells } from './format.js';
import { RUN_STATES, type RunResult } from './read.js';

const PICTURES = [
  { key: RUN_FILES.curves, title: 'learning curves' },
  { key: RUN_FILES.samples, title: 'training samples' },
] as const;

/** Markup already built by `html`; anything else interpolated into `html` is escaped. */
class Html {
  constructor(readonly text: string) {}
}

/**
 * Every value interpolated here is escaped, whatever its type claims: α, seeds and ids come from
 * sweep.json and metrics.json, which anyone with write access to the bucket can edit.
 */
function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const parts = Array.isArray(value) ? value : [value];
    out += parts.map((part) => (part instanceof Html ? part.text : escapeHtml(String(part)))).join('\n');
    out += strings[i + 1]!;
  });
  return new Html(out);
}

export async function renderReport(summary: ResultsSummary, sweep: Storage, plotPng: Buffer): Promise<string> {
  const level = Math.round(summary.level * 100);
  const resultRows = summary.rows.map(
    (row) => html`<tr data-method="${row.method}" data-alpha="${row.alpha}">${tableCells(row).map((cell) => html`<td>${cell}</td>`)}</tr>`,
  );
  const runRows = summary.runs.map((run) => {
    const cells = [run.runId, run.method, run.alpha, run.seed, run.state, accuracyCell(run, 'augmented'), accuracyCell(run, 'baseline'), run.problems.join('; ')];
    return html`<tr class="run ${run.state}" data-run-id="${run.runId}">${cells.map((cell) => html`<td>${cell}</td>`)}</tr>`;
  });
  const perAlpha: Html[] = [];
  for (const row of summary.rows) {
    const shown = summary.runs
      .filter((run) => run.method === row.method && run.alpha === row.alpha && run.state === 'complete')
      .sort((a, b) => a.seed - b.seed)[0];
    if (!shown) {
      perAlpha.push(html`<section class="alpha"><h3>${row.method}, α = ${row.alpha}</h3><p>No complete run yet.</p></section>`);
      continue;
    }
    const figures: Html[] = [];
    for (const picture of PICTURES) {
      if (!shown.objects.includes(picture.key)) continue;
      const png = await sweep.child(`${SWEEP_RUNS_DIR}/${shown.runId}`).read(picture.key);
      figures.push(html`<figure><img src="${dataUri(png)}" alt="${row.method}, α = ${row.alpha}, seed ${shown.seed}: ${picture.title}"><figcaption>${picture.title}, run ${shown.runId}</figcaption></figure>`);
    }
    const means = `${row.method} ${formatInterval(row.augmented)} %, baseline ${formatInterval(row.baseline)} %`;
    perAlpha.push(
      html`<section class="alpha" data-method="${row.method}" data-alpha="${row.alpha}"><h3>${row.method}, α = ${row.alpha} — seed ${shown.seed}</h3><p>${means}</p>${figures}</section>`,
    );
  }
  // "MixUp and CutMix sweep <id>": the methods as people write them (a name this version does not know, as it is).
  const methods = [...new Set(summary.rows.map((row) => row.method))].map((method) => armAugmentation(method)?.title ?? method);
  const title = `${methods.join(' and ')} sweep ${summary.id}`.trim();
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
  table { border-collapse: collapse; margin: 1rem 0; }
  th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; white-space: nowrap; }
  th { background: #f4f4f4; }
  #results td:nth-child(2), #results td:nth-child(3), #runs td:nth-child(3), #runs td:nth-child(4) { text-align: right; }
  img { max-width: 100%; border: 1px solid #eee; }
  figure { margin: 1rem 0; }
  .note { color: #555; font-size: 0.9rem; }
  tr.invalid, tr.failed { color: #a00; }
</style>
</head>
<body>
<h1>${title}</h1>
<p class="note">${summary.uri} · test accuracy, mean ± ${level} % confidence interval over seeds (Student t) ·
the difference is the method's arm − the baseline on the same seed (same initial weights, the same baseline run for
every method and α), in percentage points. An interval that contains 0 means this sweep cannot tell the arms apart.</p>
<h2>Results</h2>
<table id="results">
<thead><tr>${HEADERS.map((header) => html`<th>${header}</th>`)}</tr></thead>
<tbody>
${resultRows}
</tbody>
</table>
<figure><img id="plot" src="${dataUri(plotPng)}" alt="test accuracy against α, a line per method and the baseline, with ${level} % intervals"></figure>
<h2>Runs</h2>
<p class="note">States: ${RUN_STATES.join(', ')}. Only complete runs (manifest verified) count.</p>
<table id="runs">
<thead><tr><th>run</th><th>method</th><th>α</th><th>seed</th><th>state</th><th>method acc %</th><th>baseline acc %</th><th>problems</th></tr></thead>
<tbody>
${runRows}
</tbody>
</table>
<h2>Per method and α</h2>
${perAlpha}
</body>
</html>
`.text;
}

function accuracyCell(run: RunResult, arm: 'augmented' | 'baseline'): string {
  const value = run.accuracy[arm];
  return value === undefined ? '' : (value * 100).toFixed(2);
}

function dataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
