/**
 * The sweep report as a person sees it: opened in headless Chromium (Debian's, never a downloaded one),
 * its tables read back and every embedded picture decoded.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium, type Browser } from 'playwright-core';

import { LocalStorage } from '../../job/storage/local.js';
import { openStorage } from '../../job/storage/open.js';
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
    assert.deepEqual(rows[0]!.slice(0, 2), ['0', '2']);
    assert.match(rows[0]![2]!, /^86\.65 ± \d+\.\d\d$/);
    assert.match(rows[0]![4]!, /^\+0\.45 ± \d+\.\d\d$/);
    assert.equal(rows[0]![5], '2/2 complete');
    assert.deepEqual(rows[1], ['0.2', '1', '86.60 (n=1)', '85.50 (n=1)', '+1.10 (n=1)', '1/2 complete, 1 missing']);
    const runStates = await page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[3]!.textContent));
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
});
