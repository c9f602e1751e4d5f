/**
 * The sweep report as a person sees it: opened in headless Chromium (Debian's, never a downloaded one),
 * its tables read back and every embedded picture decoded.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium, type Browser, type Page } from 'playwright-core';

import { MANIFEST_KEY } from '../../job/shared/layout.js';

import { LocalStorage } from '../../job/storage/local.js';
import { openStorage } from '../../job/storage/open.js';
import type { ResultsSummary } from '../../scripts/results/aggregate.js';
import { renderReport } from '../../scripts/results/report.js';
import { results } from '../../scripts/results/results.js';
import { fixtureSweepRecord, writeFixtureRun } from '../unit/sweep-fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

describe('sweep report in Chromium', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)` }, () => {
  let dir: string;
  let reportFile: string;
  let browser: Browser;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mixup-report-'));
    const sweep = new LocalStorage(dir).child('sweeps/rep');
    await sweep.write('sweep.json', JSON.stringify(fixtureSweepRecord('rep', [0, 0.2], [1, 2], sweep.child('runs').uri)), 'application/json');
    const fixtures = [
      { alpha: 0, seed: 1, mixup: 0.861, baseline: 0.855 },
      { alpha: 0, seed: 2, mixup: 0.872, baseline: 0.869 },
      { alpha: 0.2, seed: 1, mixup: 0.866, baseline: 0.855 },
    ];
    for (const f of fixtures) await writeFixtureRun(sweep.child(`runs/alpha-${f.alpha}_seed-${f.seed}`), f);
    const summary = await results(
      { sweep: 'rep', results: dir, report: true },
      { openStorage, localExists: () => false, ssm: () => { throw new Error('no SSM in this test'); } },
    );
    reportFile = summary.report!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the results table has one row per α with the expected cells', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) requests.push(request.url());
    });
    await page.goto(pathToFileURL(reportFile).href);
    assert.equal(await page.title(), 'MixUp sweep rep');
    const rows = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0]!.slice(0, 3), ['mixup', '0', '2']);
    assert.match(rows[0]![3]!, /^86\.65 ± \d+\.\d\d$/);
    assert.match(rows[0]![5]!, /^\+0\.45 ± \d+\.\d\d$/);
    assert.equal(rows[0]![6], '2/2 complete');
    assert.deepEqual(rows[1], ['mixup', '0.2', '1', '86.60 (n=1)', '85.50 (n=1)', '+1.10 (n=1)', '1/2 complete, 1 missing']);
    const runStates = await page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[4]!.textContent));
    assert.deepEqual(runStates, ['complete', 'complete', 'complete', 'missing']);
    assert.deepEqual(requests, [], 'the report loads nothing from the network');
    await page.close();
  });

  test('every picture decodes: the plot and each α\'s curves and samples', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(reportFile).href);
    const images = await page.$$eval('img', async (imgs) => {
      await Promise.all(imgs.map((img) => (img.complete ? null : new Promise((resolve) => img.addEventListener('load', resolve)))));
      return imgs.map((img) => ({ alt: img.alt, width: img.naturalWidth, height: img.naturalHeight }));
    });
    assert.equal(images.length, 1 + 2 * 2);
    for (const image of images) assert.ok(image.width > 0 && image.height > 0, `${image.alt} did not decode`);
    assert.equal(images[0]!.width, 1600, 'the accuracy plot at 2× scale');
    await page.close();
  });

  /** Opens a page with every way a script could announce itself hooked: a dialog, the console, a global. */
  async function openWatched(file: string): Promise<{ page: Page; ran: string[] }> {
    const page = await browser.newPage();
    const ran: string[] = [];
    page.on('dialog', async (dialog) => {
      ran.push(`dialog: ${dialog.message()}`);
      await dialog.dismiss();
    });
    page.on('console', (message) => ran.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => ran.push(`error: ${error.message}`));
    await page.goto(pathToFileURL(file).href);
    // An onerror handler fires once its image has failed to load; give them all the time to.
    await page.waitForLoadState('load');
    await page.waitForTimeout(200);
    if (await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned !== undefined)) ran.push('window.pwned was set');
    return { page, ran };
  }

  const HOSTILE = [
    '<img src=x onerror=alert(1)>',
    '"><img src=x onerror="window.pwned=1;console.log(1)">',
    "'><script>alert(2)</script>",
    '</td></tr></table><svg onload=alert(3)>',
  ];

  test('hostile text anywhere in the summary shows literally and runs nothing', async () => {
    // The case from the issue: α and seed as text from an old, hand-edited sweep.json. The schema
    // refuses such files now, but the page must not depend on that: every field gets hostile text.
    const [a, b, c, d] = HOSTILE as [string, string, string, string];
    const run = (alpha: string, seed: string, runId: string, state: string) => ({
      runId, method: d, alpha, seed, state, accuracy: { augmented: 0.5 }, problems: [d, a], uri: dir, objects: [],
    });
    const summary = {
      kind: 'sweep', id: c, uri: b, level: 0.95, plot: null, report: null,
      rows: [{ method: d, alpha: a, augmented: null, baseline: null, difference: null, total: 1, runs: { complete: 1, running: 0, failed: 0, incomplete: 0, invalid: 0, missing: 0 } }],
      runs: [run(a, b, c, 'complete'), run(a, d, b, a)],
    } as unknown as ResultsSummary;
    const file = path.join(dir, 'hostile.html');
    await writeFile(file, await renderReport(summary, new LocalStorage(dir), await readFile(path.join(dir, 'sweeps/rep/runs/alpha-0_seed-1/curves.png'))));
    const { page, ran } = await openWatched(file);
    assert.deepEqual(ran, [], 'no script ran');
    assert.equal(await page.title(), `${d} sweep ${c}`);
    assert.equal(await page.locator('h1').textContent(), `${d} sweep ${c}`);
    assert.equal(await page.$$eval('script, svg, img:not([src^="data:"])', (found) => found.length), 0, 'no element came from the text');
    const runs = await page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    assert.deepEqual(runs.map((cells) => cells.slice(0, 5)), [[c, d, a, b, 'complete'], [b, d, a, d, a]]);
    assert.equal(runs[0]![7], `${d}; ${a}`);
    assert.deepEqual(await page.$$eval('#results tbody td', (tds) => tds.slice(0, 2).map((td) => td.textContent)), [d, a]);
    assert.match((await page.locator('.note').first().textContent())!, new RegExp(`^${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} · `));
    await page.close();
  });

  test('hostile text in a stored run reaches the page as text: a manifest naming a hostile object', async () => {
    const sweep = new LocalStorage(dir).child('sweeps/hostile');
    await sweep.write('sweep.json', JSON.stringify(fixtureSweepRecord('hostile', [0.5], [1], sweep.child('runs').uri)), 'application/json');
    const run = sweep.child('runs/alpha-0.5_seed-1');
    await writeFixtureRun(run, { alpha: 0.5, seed: 1, mixup: 0.8, baseline: 0.79 });
    const manifest = JSON.parse((await run.read(MANIFEST_KEY)).toString());
    manifest.objects.push({ ...manifest.objects[0], key: HOSTILE[0] });
    await run.write(MANIFEST_KEY, JSON.stringify(manifest), 'application/json');
    const summary = await results(
      { sweep: 'hostile', results: dir, report: true },
      { openStorage, localExists: () => false, ssm: () => { throw new Error('no SSM in this test'); } },
    );
    const { page, ran } = await openWatched(summary.report!);
    assert.deepEqual(ran, [], 'no script ran');
    const problems = await page.$eval('#runs tbody tr td:last-child', (td) => td.textContent);
    assert.ok(problems!.includes(`${HOSTILE[0]} is listed in the manifest but missing`), problems!);
    await page.close();
  });

  test('a sweep.json with α as hostile text is refused before any report is written', async () => {
    const sweep = new LocalStorage(dir).child('sweeps/textalpha');
    const record = fixtureSweepRecord('textalpha', [0.5], [1], sweep.child('runs').uri) as unknown as { grid: { alphas: unknown[] }; runs: { alpha: unknown }[] };
    record.grid.alphas[0] = HOSTILE[0];
    record.runs[0]!.alpha = HOSTILE[0];
    await sweep.write('sweep.json', JSON.stringify(record), 'application/json');
    await assert.rejects(
      results({ sweep: 'textalpha', results: dir, report: true }, { openStorage, localExists: () => false, ssm: () => { throw new Error('no SSM'); } }),
      /sweep\.json is not a version 1, 2 or 3 sweep record: grid\.alphas\.0: .*expected number, received string$/,
    );
    assert.equal(await sweep.exists('report.html'), false);
  });
});
