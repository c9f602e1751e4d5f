import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { envName, resolveRunConfig } from '../../job/config.js';
import { armsToTrain } from '../../job/shared/run-settings.js';
import { UsageError } from '../../job/errors.js';

const NOW = new Date('2026-11-28T12:34:56.789Z');

describe('resolveRunConfig', () => {
  test('defaults match the Keras example', () => {
    const config = resolveRunConfig({}, {}, NOW);
    assert.equal(config.alpha, 0.2);
    assert.equal(config.epochs, 10);
    assert.equal(config.batchSize, 64);
    assert.equal(config.seed, 42);
    assert.equal(config.valSamples, 2000);
    assert.equal(config.trainLimit, null);
    assert.equal(config.out, './runs');
    assert.equal(config.backend, 'auto');
    assert.equal(config.arms, 'both');
    assert.equal(config.method, 'mixup');
    assert.match(config.runId, /^20261128-123456Z-a0\.2-s42-[0-9a-f]{4}$/);
  });

  test('every setting is read from MIXUP_<NAME>', () => {
    const config = resolveRunConfig({}, {
      MIXUP_ALPHA: '0.4', MIXUP_EPOCHS: '3', MIXUP_BATCH_SIZE: '32', MIXUP_SEED: '7', MIXUP_VAL_SAMPLES: '100',
      MIXUP_TRAIN_LIMIT: '1000', MIXUP_DATA: '/d', MIXUP_OUT: 's3://b/p', MIXUP_RUN_ID: 'r1', MIXUP_BACKEND: 'cpu', MIXUP_ARMS: 'mixup',
      MIXUP_PARALLEL_ARMS: 'off',
    });
    assert.deepEqual(config, {
      alpha: 0.4, epochs: 3, batchSize: 32, seed: 7, valSamples: 100, trainLimit: 1000, data: '/d', out: 's3://b/p',
      runId: 'r1', backend: 'cpu', arms: 'mixup', parallelArms: 'off', method: 'mixup',
    });
  });

  test('a flag beats its environment variable', () => {
    assert.equal(resolveRunConfig({ alpha: '1.5' }, { MIXUP_ALPHA: '0.4' }).alpha, 1.5);
  });

  test('α = 0 is allowed', () => {
    assert.equal(resolveRunConfig({ alpha: '0' }, {}).alpha, 0);
  });

  const bad: [string, Record<string, string>, Record<string, string>, RegExp][] = [
    ['negative α', { alpha: '-0.1' }, {}, /--alpha "-0\.1": must be ≥ 0/],
    ['non-numeric α', { alpha: 'abc' }, {}, /--alpha "abc": must be a number/],
    ['batch size 0', { batchSize: '0' }, {}, /--batch-size "0": must be ≥ 1/],
    ['fractional epochs', { epochs: '1.5' }, {}, /--epochs "1\.5": must be a whole number written in digits, such as 1000/],
    ['unknown backend', { backend: 'gpu' }, {}, /--backend "gpu": must be one of auto, tensorflow, wasm, cpu/],
    ['unknown arms', { arms: 'all' }, {}, /--arms 'all': must be both, baseline or mixup \(the --method's arm\)/],
    ['an unknown method', { method: 'blend' }, {}, /--method 'blend': must be one of .*mixup/],
    ['a method spelled out of the rule', { method: 'Mix Up' }, {}, /--method "Mix Up": must be an augmentation: lower-case letters, digits and '-'/],
    ['none with both arms', { method: 'none' }, {}, /--method none trains no augmented arm; it goes with --arms baseline only/],
    ['a run id with a slash', { runId: '../x' }, {}, /--run-id "\.\.\/x": must be/],
    ['a bad variable', {}, { MIXUP_BATCH_SIZE: '-3' }, /--batch-size \(from MIXUP_BATCH_SIZE="-3"\): must be ≥ 1/],
  ];
  for (const [what, flags, env, message] of bad) {
    test(`${what} is a usage error naming the flag and the rule`, () => {
      assert.throws(() => resolveRunConfig(flags, env), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }

  test('several problems are reported together', () => {
    assert.throws(() => resolveRunConfig({ alpha: '-1', epochs: '0' }, {}), /--alpha.*; --epochs/);
  });

  test('MIXUP_NATIVE_CONV is checked with the rest: a bad value is reported, the settings pass, none changes the config', () => {
    assert.throws(
      () => resolveRunConfig({ batchSize: 0 }, { MIXUP_NATIVE_CONV: 'fast' }),
      (err: unknown) =>
        err instanceof UsageError &&
        err.message === `--batch-size "0": must be ≥ 1; MIXUP_NATIVE_CONV must be one of auto, on, off, baseline, avx2, avx512f, got 'fast'`,
    );
    const plain = resolveRunConfig({ runId: 'r' }, {});
    for (const setting of ['auto', 'on', 'off', 'baseline', 'avx2', 'avx512f']) {
      assert.deepEqual(resolveRunConfig({ runId: 'r' }, { MIXUP_NATIVE_CONV: setting }), plain);
    }
  });

  test('under AWS Batch the run id is the job id, stable across retries', () => {
    assert.equal(resolveRunConfig({}, { AWS_BATCH_JOB_ID: 'abc-123:4' }).runId, 'abc-123-4');
  });

  test('a sweep child takes α, seed and run id from its grid point', () => {
    const config = resolveRunConfig({}, { MIXUP_GRID_ALPHAS: '0,0.4', MIXUP_GRID_SEEDS: '1,2', AWS_BATCH_JOB_ARRAY_INDEX: '3', AWS_BATCH_JOB_ID: 'j:3' });
    assert.equal(config.alpha, 0.4);
    assert.equal(config.seed, 2);
    // Index 3 of 2 α × 2 seeds is (α 0.4, seed 2); the id names the point, not the Batch job.
    assert.equal(config.runId, 'alpha-0.4_seed-2');
  });

  test('variable names follow the flags', () => {
    assert.equal(envName('batchSize'), 'MIXUP_BATCH_SIZE');
    assert.equal(envName('runId'), 'MIXUP_RUN_ID');
  });
});

describe('AWS_BATCH_JOB_ID as the run id', () => {
  test("AWS's forms are accepted: a job uuid and an array child's uuid:index", () => {
    const uuid = '3f1c2a9e-7b4d-4c8e-9a51-0d2e6f7a8b9c';
    assert.equal(resolveRunConfig({}, { AWS_BATCH_JOB_ID: uuid }).runId, uuid);
    assert.equal(resolveRunConfig({}, { AWS_BATCH_JOB_ID: `${uuid}:17` }).runId, `${uuid}-17`);
  });

  for (const [what, jobId] of [['..', '..'], ['.', '.'], ['300 characters', 'j'.repeat(300)], ['a leading dash', '-x'], ['a slash path', '/etc']] as const) {
    test(`${what} is refused with one usage line, as --run-id would be`, () => {
      assert.throws(() => resolveRunConfig({}, { AWS_BATCH_JOB_ID: jobId }), (error: unknown) =>
        error instanceof UsageError && /^AWS_BATCH_JOB_ID ".{1,61}" cannot name the run: .*set --run-id$/.test(error.message) && !error.message.includes('\n'));
    });
  }

  test('--run-id wins over an unusable AWS_BATCH_JOB_ID', () => {
    assert.equal(resolveRunConfig({ runId: 'mine' }, { AWS_BATCH_JOB_ID: '..' }).runId, 'mine');
  });
});

describe('resolveRunConfig edges', () => {
  test('run ids: a letter or digit first, then up to 127 of letters, digits, ".", "_", "-"', () => {
    assert.equal(resolveRunConfig({ runId: 'a.b_c-1' }, {}).runId, 'a.b_c-1');
    assert.equal(resolveRunConfig({ runId: 'r'.repeat(128) }, {}).runId.length, 128);
    for (const bad of ['r'.repeat(129), '-r', 'r/1', 'r 1']) {
      assert.throws(() => resolveRunConfig({ runId: bad }, {}), /--run-id ".*": must be 1–128 letters/, bad);
    }
  });

  test('integers are trimmed; a fraction or an exponent is "must be a whole number written in digits"', () => {
    assert.throws(() => resolveRunConfig({}, { MIXUP_EPOCHS: '1e3' }), /^UsageError: --epochs \(from MIXUP_EPOCHS="1e3"\): must be a whole number written in digits, such as 1000$/);
    assert.equal(resolveRunConfig({ epochs: ' 3 ' }, {}).epochs, 3);
    assert.throws(() => resolveRunConfig({ epochs: '1.5' }, {}), /^UsageError: --epochs "1\.5": must be a whole number written in digits, such as 1000$/);
  });

  test('an empty variable is unset: the default applies', () => {
    assert.equal(resolveRunConfig({}, { MIXUP_EPOCHS: '' }).epochs, 10);
  });

  test('without --data the data location is left to the data module', () => {
    assert.equal(resolveRunConfig({}, {}).data, '');
  });

  test("a sweep child's --alpha and --seed flags win over its grid point", () => {
    const env = { MIXUP_GRID_ALPHAS: '0,0.4', MIXUP_GRID_SEEDS: '1,2', AWS_BATCH_JOB_ARRAY_INDEX: '3' };
    const config = resolveRunConfig({ alpha: '0.7', seed: '9' }, env);
    assert.equal(config.alpha, 0.7);
    assert.equal(config.seed, 9);
  });

  test('--arms picks the arms to train, in order', () => {
    assert.deepEqual(armsToTrain({ arms: 'both', method: 'mixup' }), ['mixup', 'baseline']);
    assert.deepEqual(armsToTrain({ arms: 'mixup', method: 'mixup' }), ['mixup']);
    assert.deepEqual(armsToTrain({ arms: 'baseline', method: 'mixup' }), ['baseline']);
  });
});
