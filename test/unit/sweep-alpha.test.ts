/** One rule for α: what `mixup run --alpha` refuses, `mixup sweep --alphas` and a sweep child refuse too. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { resolveRunConfig } from '../../job/config.js';
import { UsageError } from '../../job/errors.js';
import { gridPointFromEnv, parseNumberList, validateGrid } from '../../job/shared/grid.js';
import { sweepOptionsFromFlags } from '../../scripts/commands/sweep.js';
import { planSweep } from '../../scripts/sweep/plan.js';

/** Why the sweep refuses `--alphas text` (null: accepted), through the same steps as the command. */
function sweepRefusal(text: string): string | null {
  try {
    const options = sweepOptionsFromFlags({ alphas: text, executor: 'local', stackName: 'S' });
    planSweep(options, new Date());
    return null;
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
}

function runRefusal(text: string): string | null {
  try {
    resolveRunConfig({ alpha: text }, {});
    return null;
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
}

describe('α: one parser and one rule for run and sweep', () => {
  test('hexadecimal, binary and out-of-range α are refused by the sweep as by run', () => {
    assert.match(sweepRefusal('0.2,0x10')!, /^--alphas = '0.2,0x10': '0x10' is not a number/);
    assert.match(runRefusal('0x10')!, /^--alpha "0x10": must be a number$/);
    assert.match(sweepRefusal('2e6')!, /^bad sweep grid: 'alphas' contains 2000000; α must be ≤ 1e6$/);
    assert.match(runRefusal('2e6')!, /^--alpha "2e6": must be ≤ 1e6$/);
  });

  test('an α that a double rounds to 0 is refused by both, unless it is written as 0', () => {
    assert.equal(runRefusal('1e-400'), '--alpha "1e-400": 1e-400 rounds to 0, which means no mixing; write 0 for that, or a value ≥ 5e-324');
    assert.equal(sweepRefusal('0,1e-400'), "--alphas = '0,1e-400': 1e-400 rounds to 0, which means no mixing; write 0 for that, or a value ≥ 5e-324");
    assert.throws(() => resolveRunConfig({}, { MIXUP_ALPHA: '1e-400' }), /--alpha \(from MIXUP_ALPHA="1e-400"\): 1e-400 rounds to 0/);
    assert.throws(() => gridPointFromEnv({ MIXUP_GRID_ALPHAS: '1e-999', MIXUP_GRID_SEEDS: '1' }), /MIXUP_GRID_ALPHAS = '1e-999': 1e-999 rounds to 0/);
    for (const zero of ['0', '0.0', '.0', '0e5', '-0', '00']) {
      assert.equal(runRefusal(zero), null, zero);
      assert.equal(sweepRefusal(zero), null, zero);
    }
    assert.equal(resolveRunConfig({ alpha: '5e-324' }, {}).alpha, 5e-324);
  });

  const texts = ['1e-400', '0', '0.2', '.5', '1e-3', '1E2', '1e6', '+0.4', '1e-320', '0x10', '0b1', '0o7', 'Infinity', '2e6', '1e400', '-0.1', '1_0', ' ', 'abc'];
  for (const text of texts) {
    test(`'${text}' is accepted by both or refused by both`, () => {
      assert.equal(sweepRefusal(text) === null, runRefusal(text) === null, `sweep: ${sweepRefusal(text)}; run: ${runRefusal(text)}`);
    });
  }

  test('a sweep child refuses a grid variable that run would refuse', () => {
    const env = (alphas: string) => ({ MIXUP_GRID_ALPHAS: alphas, MIXUP_GRID_SEEDS: '1', AWS_BATCH_JOB_ARRAY_INDEX: '0' });
    assert.equal(gridPointFromEnv(env('0.25'))!.alpha, 0.25);
    assert.throws(() => gridPointFromEnv(env('0x10')), /MIXUP_GRID_ALPHAS = '0x10': '0x10' is not a number/);
    assert.throws(() => gridPointFromEnv(env('2e6')), /'alphas' contains 2000000; α must be ≤ 1e6/);
  });

  test('the list parser and the grid rule on their own', () => {
    assert.deepEqual(parseNumberList('--alphas', '0, .5,1e-3'), [0, 0.5, 0.001]);
    assert.throws(() => parseNumberList('--seed-list', '0x10'), /'0x10' is not a number/);
    assert.throws(() => validateGrid([1e6 + 1], [1]), /α must be ≤ 1e6/);
  });
});
