/**
 * The user docs hold together: every relative link and anchor in README.md, docs/, bench/ and
 * reference/ resolves inside the repository, and the docs name nothing a user's clone lacks (the
 * development machine's shared folder) or cannot see (issue numbers).
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brokenLinks, headingAnchors, headingSlug } from '../support/markdown-links.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function markdownIn(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, folder), { recursive: true });
  return entries.filter((f) => f.endsWith('.md')).map((f) => path.join(folder, f));
}

async function userDocs(): Promise<string[]> {
  return ['README.md', ...(await markdownIn('docs')), ...(await markdownIn('bench')), ...(await markdownIn('reference'))].sort();
}

describe('the repository docs', () => {
  test('every relative link and anchor in README.md, docs/, bench/ and reference/ resolves', async () => {
    const files = await userDocs();
    assert.ok(files.includes('README.md') && files.some((f) => f.startsWith('docs/')), `found ${files.join(', ')}`);
    const broken = brokenLinks(ROOT, files).map((b) => `${b.file}:${b.line}: ${b.target}: ${b.reason}`);
    assert.deepEqual(broken, []);
  });

  test('the docs name no path of the development machine and no issue number', async () => {
    const found: string[] = [];
    for (const file of await userDocs()) {
      const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const pattern of [/\.\.\/shared\//, /shared\/reference/, /\bissues? #?\d+/i, /(^|[\s(])#\d+\b/]) {
          if (pattern.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(found, []);
  });

  test('the README stays short enough to read in two minutes (at most 250 lines)', async () => {
    const lines = (await readFile(path.join(ROOT, 'README.md'), 'utf8')).split('\n').length;
    assert.ok(lines <= 250, `README.md has ${lines} lines`);
  });
});

describe('the link checker', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-docs-links-'));
    await mkdir(path.join(dir, 'docs'));
    await writeFile(path.join(dir, 'docs', 'a.md'), '# Page A\n\n## Deploy to AWS\n\n## `mixup run`: settings, output\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function check(text: string): Promise<string[]> {
    await writeFile(path.join(dir, 'README.md'), text);
    return brokenLinks(dir, ['README.md']).map((b) => `${b.target}: ${b.reason}`);
  }

  test('accepts links to existing files and headings, and ignores URLs and code', async () => {
    assert.deepEqual(
      await check(
        '[a](docs/a.md) [b](docs/a.md#deploy-to-aws) [c](docs/a.md#mixup-run-settings-output) ![d](docs/)\n' +
          '[e](https://example.com/missing.md) `[f](missing.md)`\n```\n[g](missing.md)\n```\n[h](#top)\n# Top\n',
      ),
      [],
    );
  });

  test('reports a missing file, a missing anchor and a path outside the repository', async () => {
    assert.deepEqual(await check('[a](docs/b.md)\n[b](docs/a.md#deploy)\n[c](../outside.md)\n![d](docs/x.png)\n'), [
      'docs/b.md: no such file',
      'docs/a.md#deploy: no heading with anchor #deploy in docs/a.md',
      '../outside.md: points outside the repository',
      'docs/x.png: no such file',
    ]);
  });

  test("spells anchors as GitHub does: lower case, punctuation dropped, spaces to hyphens, repeats numbered", () => {
    assert.equal(headingSlug('What a real sweep says: α ∈ {0.1, 0.2} × 5 seeds'), 'what-a-real-sweep-says-α--01-02--5-seeds');
    assert.equal(headingSlug('The whole experiment against PyTorch (`npm run bench:experiment`)'), 'the-whole-experiment-against-pytorch-npm-run-benchexperiment');
    assert.deepEqual([...headingAnchors('# Options\n## Options\n```\n# not a heading\n```\n### Options\n')], ['options', 'options-1', 'options-2']);
  });
});
