import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { UsageError } from '../../job/errors.js';
import { resolveRunConfig } from '../../job/config.js';
import {
  arrayIndexOf,
  baselineRunId,
  gridJob,
  gridJobs,
  gridIndex,
  gridPoint,
  gridPointFromEnv,
  gridPoints,
  gridRunId,
  MAX_ARRAY_SIZE,
  parseGridRunId,
  armRunId,
  parseNumberList,
  seedRange,
  validateGrid,
} from '../../job/shared/grid.js';

describe('grid', () => {
  test('every index maps to its (α, seed), α major, and back', () => {
    const alphas = [0, 0.1, 0.2, 0.4, 1];
    const seeds = [1, 2, 3];
    const seen = new Set<string>();
    for (let index = 0; index < alphas.length * seeds.length; index++) {
      const point = gridPoint(index, alphas, seeds);
      assert.equal(point.alpha, alphas[Math.floor(index / 3)]);
      assert.equal(point.seed, seeds[index % 3]);
      assert.equal(gridIndex(point.alpha, point.seed, alphas, seeds), index);
      seen.add(`${point.alpha}/${point.seed}`);
    }
    assert.equal(seen.size, 15, 'every (α, seed) pair appears exactly once');
  });

  test('the index order is the documented one', () => {
    assert.deepEqual(
      gridPoints([0, 0.2], [7, 8, 9]).map((p) => [p.index, p.alpha, p.seed]),
      [[0, 0, 7], [1, 0, 8], [2, 0, 9], [3, 0.2, 7], [4, 0.2, 8], [5, 0.2, 9]],
    );
  });

  test('an index outside the grid is refused', () => {
    assert.throws(() => gridPoint(6, [0, 0.2], [1, 2, 3]), /AWS_BATCH_JOB_ARRAY_INDEX = 6 is outside the grid; .* 0 to 5/);
    assert.throws(() => gridPoint(-1, [0], [1, 2]), UsageError);
    assert.throws(() => gridPoint(0.5, [0], [1, 2]), UsageError);
  });

  test('run ids name α and seed and parse back', () => {
    assert.equal(gridRunId(0.2, 1), 'alpha-0.2_seed-1');
    assert.equal(gridRunId(1.0, 12), 'alpha-1_seed-12');
    assert.equal(gridRunId(0, 3), 'alpha-0_seed-3');
    assert.deepEqual(parseGridRunId('alpha-0.2_seed-1'), { method: null, alpha: 0.2, seed: 1 });
    assert.deepEqual(parseGridRunId(gridRunId(1e-7, 4)), { method: null, alpha: 1e-7, seed: 4 });
    assert.deepEqual(parseGridRunId(armRunId('cutmix', 0.2, 3)), { method: 'cutmix', alpha: 0.2, seed: 3 });
    assert.equal(parseGridRunId('my-run'), null);
  });

  test('a good grid passes, including a single point', () => {
    validateGrid([0, 0.1, 0.2], [1, 2, 3]);
    validateGrid([0.2], [42]);
  });

  const refused: Array<[string, number[], number[], RegExp]> = [
    ['empty α list', [], [1], /'alphas' is empty/],
    ['empty seed list', [0.2], [], /'seeds' is empty/],
    ['negative α', [0.2, -0.1], [1], /'alphas' contains -0.1; α must be ≥ 0/],
    ['non-finite α', [Number.POSITIVE_INFINITY], [1], /'alphas' contains Infinity; every α must be a finite number/],
    ['NaN α', [Number.NaN], [1], /'alphas' contains NaN/],
    ['duplicate α', [0.1, 0.2, 0.1], [1], /'alphas' repeats 0.1; each value may appear once/],
    ['duplicate seed', [0.1], [1, 2, 2], /'seeds' repeats 2/],
    ['fractional seed', [0.1], [1.5], /'seeds' contains 1.5; every seed must be a whole number from 0 to 2147483647/],
    ['a seed over 31 bits', [0.1], [2 ** 31], /'seeds' contains 2147483648/],
    ['negative seed', [0.1], [-1], /'seeds' contains -1/],
    ['a grid over the Batch limit', Array.from({ length: 101 }, (_, i) => i / 100), seedRange(100),
      new RegExp(`101 α × 100 seeds = 10100 runs; AWS Batch arrays hold at most ${MAX_ARRAY_SIZE}`)],
  ];
  for (const [what, alphas, seeds, message] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => validateGrid(alphas, seeds), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('several problems are reported together', () => {
    assert.throws(() => validateGrid([-1, -1], []), /'seeds' is empty.*α must be ≥ 0.*'alphas' repeats -1/);
  });

  test('the largest Batch array passes', () => {
    validateGrid(Array.from({ length: 100 }, (_, i) => i / 10), seedRange(100));
  });

  test('number lists parse and name the flag when bad', () => {
    assert.deepEqual(parseNumberList('--alphas', '0, 0.1,0.2'), [0, 0.1, 0.2]);
    assert.deepEqual(parseNumberList('--alphas', ''), []);
    assert.throws(() => parseNumberList('--alphas', '0,,0.2'), /--alphas = '0,,0.2': '' is not a number/);
    assert.throws(() => parseNumberList('--alphas', '0,abc'), /--alphas = '0,abc': 'abc' is not a number/);
    assert.deepEqual(seedRange(3), [1, 2, 3]);
  });

  test('a child finds its point from the environment', () => {
    const env = { MIXUP_GRID_ALPHAS: '0,0.2', MIXUP_GRID_SEEDS: '1,2,3', AWS_BATCH_JOB_ARRAY_INDEX: '4' };
    assert.deepEqual(gridPointFromEnv(env), { index: 4, alpha: 0.2, seed: 2, runId: 'alpha-0.2_seed-2' });
  });

  test('without AWS_BATCH_JOB_ARRAY_INDEX an array child takes its index from AWS_BATCH_JOB_ID', () => {
    const grid = { MIXUP_GRID_ALPHAS: '0,0.2', MIXUP_GRID_SEEDS: '1,2,3' };
    assert.deepEqual(gridPointFromEnv({ ...grid, AWS_BATCH_JOB_ID: '6b1f0c2e-1d2b-4c8e-9a55-0f3e2d1c0b9a:4' }), {
      index: 4, alpha: 0.2, seed: 2, runId: 'alpha-0.2_seed-2',
    });
    // The variable, when set, wins over the id.
    assert.equal(gridPointFromEnv({ ...grid, AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ID: 'abc:4' })?.index, 1);
    // A plain job's id has no index: a larger grid still refuses it, and an index past the grid is named.
    assert.throws(() => gridPointFromEnv({ ...grid, AWS_BATCH_JOB_ID: '6b1f0c2e' }), /AWS_BATCH_JOB_ARRAY_INDEX is unset/);
    assert.throws(() => gridPointFromEnv({ ...grid, AWS_BATCH_JOB_ID: 'abc:6' }), /= 6 is outside the grid/);
  });

  test('a one-point grid needs no array index; a larger one does', () => {
    assert.deepEqual(gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0.4', MIXUP_GRID_SEEDS: '7' }), {
      index: 0, alpha: 0.4, seed: 7, runId: 'alpha-0.4_seed-7',
    });
    assert.throws(() => gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0.4', MIXUP_GRID_SEEDS: '7,8' }),
      /AWS_BATCH_JOB_ARRAY_INDEX is unset/);
  });

  test('no grid variables means no grid; half of them is an error', () => {
    assert.equal(gridPointFromEnv({}), null);
    assert.throws(() => gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0.4' }), /MIXUP_GRID_SEEDS is unset/);
    assert.throws(
      () => gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0.4,0.2', MIXUP_GRID_SEEDS: '1', AWS_BATCH_JOB_ARRAY_INDEX: 'x' }),
      /AWS_BATCH_JOB_ARRAY_INDEX = 'x' is not a whole number/,
    );
  });
});

describe('grid edges', () => {
  test('seeds 0 and 2^31 − 1 are the ends of the range', () => {
    assert.doesNotThrow(() => validateGrid([0.2], [0, 2 ** 31 - 1]));
    assert.throws(() => validateGrid([0.2], [-1]), /'seeds' contains -1; every seed must be a whole number from 0 to 2147483647/);
    assert.throws(() => validateGrid([0.2], [2 ** 31]), /'seeds' contains 2147483648/);
  });

  test('repeats and oversize grids are named in the message', () => {
    assert.throws(() => validateGrid([0.2], [1, 1]), /bad sweep grid: 'seeds' repeats 1; each value may appear once/);
    assert.throws(() => validateGrid(Array.from({ length: 101 }, (_, i) => i), seedRange(100)), /the grid has 101 α × 100 seeds = 10100 runs; AWS Batch arrays hold at most 10000/);
  });

  test('gridIndex refuses a point off the grid, by α or by seed', () => {
    assert.throws(() => gridIndex(0.3, 1, [0.2], [1]), (e: unknown) => e instanceof UsageError && /\(α = 0\.3, seed = 1\) is not a point of the grid α = \[0\.2\], seeds = \[1\]/.test(e.message));
    assert.throws(() => gridIndex(0.2, 2, [0.2], [1]), /\(α = 0\.2, seed = 2\) is not a point/);
  });

  test('grid run ids parse only whole: no prefix, no suffix, seeds of several digits', () => {
    assert.deepEqual(parseGridRunId('alpha-0.2_seed-12'), { method: null, alpha: 0.2, seed: 12 });
    assert.equal(parseGridRunId('Mix_alpha-0.2_seed-1'), null, 'a method is a lower-case name');
    assert.equal(parseGridRunId('xalpha-0.2_seed-1'), null);
    assert.equal(parseGridRunId('alpha-0.2_seed-1x'), null);
    assert.equal(parseGridRunId('alpha-1e999_seed-1'), null, 'α must be finite');
    assert.equal(parseGridRunId('alpha-0.2_seed-99999999999999999999'), null, 'seed must be a safe integer');
  });

  test('number lists: blanks are trimmed, an empty entry is refused', () => {
    assert.deepEqual(parseNumberList('--alphas', '   '), []);
    assert.throws(() => parseNumberList('--alphas', ',2'), /--alphas = ',2': '' is not a number/);
    assert.throws(() => parseNumberList('--alphas', '1, ,2'), /'' is not a number/);
  });

  test('a sweep child needs both grid variables, and names the missing one', () => {
    assert.throws(() => gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0.2' }), /^UsageError: MIXUP_GRID_SEEDS is unset; a sweep child needs both/);
    assert.throws(() => gridPointFromEnv({ MIXUP_GRID_SEEDS: '1' }), /MIXUP_GRID_ALPHAS is unset/);
  });

  test('the array index: whole numbers only, trimmed, several digits; empty means unset', () => {
    const env = { MIXUP_GRID_ALPHAS: '0,0.1,0.2,0.3', MIXUP_GRID_SEEDS: '1,2,3' };
    assert.deepEqual(gridPointFromEnv({ ...env, AWS_BATCH_JOB_ARRAY_INDEX: '11' }), { index: 11, alpha: 0.3, seed: 3, runId: 'alpha-0.3_seed-3' });
    assert.equal(gridPointFromEnv({ ...env, AWS_BATCH_JOB_ARRAY_INDEX: ' 4 ' })?.index, 4);
    for (const bad of ['3x', 'x3', '-1']) {
      assert.throws(() => gridPointFromEnv({ ...env, AWS_BATCH_JOB_ARRAY_INDEX: bad }), /AWS_BATCH_JOB_ARRAY_INDEX = '.*' is not a whole number ≥ 0/);
    }
    assert.throws(() => gridPointFromEnv({ ...env, AWS_BATCH_JOB_ARRAY_INDEX: '' }), /AWS_BATCH_JOB_ARRAY_INDEX is unset; a grid of more than one point/);
  });
});

describe('a sweep with shared baselines: one arm job per index', () => {
  test('baselines first, one per seed, then one mixup arm per (α > 0, seed), α major; α = 0 has no job of its own', () => {
    assert.deepEqual(
      gridJobs([0, 0.2, 0.4], [1, 2]).map((job) => [job.index, job.arms, job.alpha, job.seed, job.runId]),
      [
        [0, 'baseline', 0, 1, 'baseline_seed-1'],
        [1, 'baseline', 0, 2, 'baseline_seed-2'],
        [2, 'mixup', 0.2, 1, 'alpha-0.2_seed-1'],
        [3, 'mixup', 0.2, 2, 'alpha-0.2_seed-2'],
        [4, 'mixup', 0.4, 1, 'alpha-0.4_seed-1'],
        [5, 'mixup', 0.4, 2, 'alpha-0.4_seed-2'],
      ],
    );
    assert.equal(gridJobs([0, 0.1, 0.2, 0.4, 1], [1, 2, 3]).length, 15, '5 α × 3 seeds: 15 arm trainings instead of 30');
    assert.equal(baselineRunId(7), 'baseline_seed-7');
    assert.throws(() => gridJob(6, [0, 0.2, 0.4], [1, 2]), /AWS_BATCH_JOB_ARRAY_INDEX = 6 is outside the sweep's 6 arm jobs/);
  });

  test('a child finds its arm, α, seed and run id from the layout and its index, and trains that arm only', () => {
    const env = { MIXUP_GRID_ALPHAS: '0,0.2', MIXUP_GRID_SEEDS: '1,2', MIXUP_GRID_LAYOUT: 'shared-baselines' };
    assert.deepEqual(gridPointFromEnv({ ...env, AWS_BATCH_JOB_ARRAY_INDEX: '1' }), { index: 1, method: 'mixup', alpha: 0, seed: 2, arms: 'baseline', runId: 'baseline_seed-2' });
    const child = resolveRunConfig({}, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '3', MIXUP_ARMS: 'both' });
    assert.deepEqual([child.arms, child.alpha, child.seed, child.runId], ['mixup', 0.2, 2, 'alpha-0.2_seed-2']);
    // A flag on the command line still wins over the grid, as --alpha and --seed do.
    assert.equal(resolveRunConfig({ arms: 'both' }, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '3' }).arms, 'both');
    assert.throws(() => gridPointFromEnv({ ...env, MIXUP_GRID_LAYOUT: 'other', AWS_BATCH_JOB_ARRAY_INDEX: '0' }), /MIXUP_GRID_LAYOUT = 'other' is unknown/);
    // Without the layout variable a child is a point of the older layout: both arms of (α, seed).
    assert.equal(gridPointFromEnv({ MIXUP_GRID_ALPHAS: '0,0.2', MIXUP_GRID_SEEDS: '1,2', AWS_BATCH_JOB_ARRAY_INDEX: '3' })?.runId, 'alpha-0.2_seed-2');
  });
});

describe('grid: the array index and the layout, at their edges', () => {
  const shared = { MIXUP_GRID_ALPHAS: '0,0.2', MIXUP_GRID_SEEDS: '1,2', MIXUP_GRID_LAYOUT: 'shared-baselines' };

  test('an arm job index below 0, past the end or not whole is refused, naming the range', () => {
    assert.equal(gridJob(0, [0.2], [1, 2]).runId, 'baseline_seed-1');
    assert.equal(gridJob(3, [0.2], [1, 2]).runId, 'alpha-0.2_seed-2');
    for (const index of [-1, 4, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => gridJob(index, [0.2], [1, 2]), /outside the sweep's 4 arm jobs; it must be a whole number from 0 to 3$/, String(index));
    }
  });

  test('an empty layout variable is the older layout, as an unset one is', () => {
    assert.equal(gridPointFromEnv({ ...shared, MIXUP_GRID_LAYOUT: '', AWS_BATCH_JOB_ARRAY_INDEX: '3' })?.runId, 'alpha-0.2_seed-2');
    assert.equal(gridPointFromEnv({ ...shared, AWS_BATCH_JOB_ARRAY_INDEX: '0' })?.runId, 'baseline_seed-1');
  });

  test('the index from AWS_BATCH_JOB_ID: a whole <id>:<digits>, trimmed; an empty index variable does not hide it', () => {
    const at = (jobId: string, index?: string) =>
      gridPointFromEnv({ ...shared, AWS_BATCH_JOB_ID: jobId, ...(index === undefined ? {} : { AWS_BATCH_JOB_ARRAY_INDEX: index }) })?.index;
    assert.equal(at('6b1f0c2e:3'), 3);
    assert.equal(at('  6b1f0c2e:2 \n'), 2);
    assert.equal(at('6b1f0c2e:1', ''), 1);
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1).join(',');
    assert.equal(gridPointFromEnv({ ...shared, MIXUP_GRID_SEEDS: seeds, AWS_BATCH_JOB_ID: 'job:13' })?.index, 13);
    // Not an array child's id: a second ':', or something after the digits. The grid then has no index.
    for (const jobId of ['a:b:3', 'job:3x', 'job:', ':3']) assert.throws(() => at(jobId), /AWS_BATCH_JOB_ARRAY_INDEX is unset/, jobId);
  });

  test("a Batch child's index as ListJobs reports it: arrayProperties.index, else its id's suffix", () => {
    assert.equal(arrayIndexOf({ arrayProperties: { index: 0 }, jobId: 'x:7' }), 0);
    assert.equal(arrayIndexOf({ jobId: 'x:7' }), 7);
    assert.equal(arrayIndexOf({ arrayProperties: {}, jobId: 'x:12' }), 12);
    assert.ok(Number.isNaN(arrayIndexOf({})));
    assert.ok(Number.isNaN(arrayIndexOf({ jobId: 'plain' })));
  });
});

describe('a sweep of methods: shared baselines, then one arm per method, α > 0 and seed', () => {
  test('the index order is baselines, then method major, α, seed; run ids name the method', () => {
    const jobs = gridJobs([0, 0.2], [1, 2], ['mixup', 'cutmix']);
    assert.deepEqual(
      jobs.map((job) => [job.index, job.method, job.alpha, job.seed, job.arms, job.runId]),
      [
        [0, 'none', 0, 1, 'baseline', 'baseline_seed-1'],
        [1, 'none', 0, 2, 'baseline', 'baseline_seed-2'],
        [2, 'mixup', 0.2, 1, 'mixup', 'mixup_alpha-0.2_seed-1'],
        [3, 'mixup', 0.2, 2, 'mixup', 'mixup_alpha-0.2_seed-2'],
        [4, 'cutmix', 0.2, 1, 'cutmix', 'cutmix_alpha-0.2_seed-1'],
        [5, 'cutmix', 0.2, 2, 'cutmix', 'cutmix_alpha-0.2_seed-2'],
      ],
    );
  });

  test('without methods (a sweep of MixUp alone, recorded before methods) the ids and baselines are as they were', () => {
    const jobs = gridJobs([0.2], [1]);
    assert.deepEqual(jobs.map((job) => [job.method, job.arms, job.runId]), [['mixup', 'baseline', 'baseline_seed-1'], ['mixup', 'mixup', 'alpha-0.2_seed-1']]);
  });

  test('a child of a sweep of methods takes its method, arm, α, seed and run id from its index', () => {
    const env = { MIXUP_GRID_METHODS: 'mixup', MIXUP_GRID_ALPHAS: '0.2,0.4', MIXUP_GRID_SEEDS: '1,2', MIXUP_GRID_LAYOUT: 'shared-baselines' };
    const child = resolveRunConfig({}, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '5' });
    assert.deepEqual([child.method, child.arms, child.alpha, child.seed, child.runId], ['mixup', 'mixup', 0.4, 2, 'mixup_alpha-0.4_seed-2']);
    const baseline = resolveRunConfig({}, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '0' });
    assert.deepEqual([baseline.method, baseline.arms, baseline.alpha, baseline.runId], ['none', 'baseline', 0, 'baseline_seed-1']);
  });

  test('bad methods are refused in one line: unknown, repeated, none, or without the shared layout', () => {
    const env = { MIXUP_GRID_ALPHAS: '0.2', MIXUP_GRID_SEEDS: '1', MIXUP_GRID_LAYOUT: 'shared-baselines', AWS_BATCH_JOB_ARRAY_INDEX: '0' };
    assert.throws(() => gridPointFromEnv({ ...env, MIXUP_GRID_METHODS: 'mixup,mixup' }), /'methods' repeats mixup/);
    assert.throws(() => gridPointFromEnv({ ...env, MIXUP_GRID_METHODS: 'none' }), /'methods' contains none; the baselines are trained anyway/);
    assert.throws(() => gridPointFromEnv({ ...env, MIXUP_GRID_METHODS: 'Mix Up' }), /'Mix Up' is not a method name/);
    assert.throws(() => gridPointFromEnv({ ...env, MIXUP_GRID_LAYOUT: '', MIXUP_GRID_METHODS: 'mixup' }), /MIXUP_GRID_LAYOUT must be 'shared-baselines'/);
    assert.throws(() => resolveRunConfig({}, { ...env, MIXUP_GRID_METHODS: 'blend', AWS_BATCH_JOB_ARRAY_INDEX: '1' }), /--method 'blend': must be one of/);
  });
});
