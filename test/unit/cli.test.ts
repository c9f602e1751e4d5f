/** The user's program: one module per command in scripts/commands/, and a `--help` that loads none of their work. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { buildProgram, COMMANDS } from '../../scripts/cli.js';
import { heavyPackagesLoaded } from '../support/user-cli.js';

describe('the mixup CLI', () => {
  test('--help lists every command, and loads neither TensorFlow.js, nor an AWS SDK, nor the canvas', async () => {
    const { result, heavy } = await heavyPackagesLoaded(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['run', 'seed-data', 'sweep', 'results', 'doctor']) assert.match(result.stdout, new RegExp(`\\n  ${command} `));
    assert.deepEqual(heavy, []);
  });

  test('every module of scripts/commands/ is a command of the program, with its test in test/unit/commands/', () => {
    const modules = readdirSync(new URL('../../scripts/commands/', import.meta.url)).map((file) => file.replace(/\.ts$/, '')).sort();
    const names = buildProgram().commands.map((command) => command.name()).sort();
    assert.deepEqual(names, modules);
    assert.equal(COMMANDS.length, modules.length);
    const tests = readdirSync(new URL('./commands/', import.meta.url)).map((file) => file.replace(/\.test\.ts$/, '')).sort();
    assert.deepEqual(tests, modules);
  });
});
