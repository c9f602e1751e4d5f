/**
 * The import rules of .dependency-cruiser.cjs, run on a small tree that breaks each of them once and on
 * one that keeps them: `npm test` (test/run-all.sh) runs the same rules on the real tree, so a new
 * import that breaks one fails the suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  await cp(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: true } }),
  );
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', type: 'module' }));
  // The real packages, so an import of the Batch SDK resolves to node_modules as it does in the repository.
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
}

function cruise(dir: string) {
  const result = spawnSync(DEPCRUISE, ['job', 'scripts', 'infra', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('import rules (dependency-cruiser)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-import-rules-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a tree that keeps the rules passes', async () => {
    const good = path.join(dir, 'good');
    await writeTree(good, {
      'job/shared/layout.ts': "export const RUN_FILE = 'metrics.json';\n",
      'job/run.ts': "import { RUN_FILE } from './shared/layout.js';\nexport const run = () => RUN_FILE;\n",
      'scripts/results.ts': "import { run } from '../job/run.js';\nexport const results = run;\n",
      'infra/stack.ts': "import { RUN_FILE } from '../job/shared/layout.js';\nexport const stack = RUN_FILE;\n",
    });
    const { code, output } = cruise(good);
    assert.equal(code, 0, output);
  });

  test('each broken rule is named and fails the run', async () => {
    const bad = path.join(dir, 'bad');
    await writeTree(bad, {
      'job/shared/layout.ts': "import { model } from '../model.js';\nexport const RUN_FILE = model;\n",
      'job/model.ts': "export const model = 'cnn';\n",
      'job/cli.ts':
        "import { results } from '../scripts/results.js';\nimport { stack } from '../infra/stack.js';\nimport { trace } from '../reference/keras/trace.js';\nexport const cli = [results, stack, trace];\n",
      'reference/keras/trace.ts': "export const trace = 1;\n",
      'job/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'job/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'job/submit.ts': "import { BatchClient } from '@aws-sdk/client-batch';\nexport const client = BatchClient;\n",
      'scripts/results.ts': "export const results = 1;\n",
      'infra/stack.ts': "import { results } from '../scripts/results.js';\nexport const stack = results;\n",
    });
    const { code, output } = cruise(bad);
    assert.notEqual(code, 0, output);
    for (const rule of ['no-circular', 'job-not-to-scripts', 'job-not-to-reference', 'job-not-to-infra', 'infra-not-to-scripts', 'job-not-to-batch-or-ssm', 'shared-stays-light']) {
      assert.match(output, new RegExp(`\\b${rule}\\b`), `${rule} not reported:\n${output}`);
    }
  });
});
