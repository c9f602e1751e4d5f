/**
 * The job against the Keras example itself, step by step (docs/keras-parity.md). The fixture,
 * test/fixtures/keras-parity.json, is what TensorFlow 2.21 / Keras 3.15 computed when it replayed the
 * job's trace (reference/keras/record-fixture.sh): the same initial weights, batches, λ and dropout masks,
 * Keras's own model, loss, optimizer and train step. Here the job records the same trace again and its
 * numbers must match Keras's:
 * - the trace itself (rows, λ, masks, initial weights) is the one Keras replayed;
 * - the initial weights spread as Keras's default initialisers spread theirs (Glorot uniform, zero biases);
 * - each of the first 20 steps' losses, and the weights after them, lie within float32 drift of Keras's;
 * - the loss of a saturated model is Keras's (from the logits, no clipping).
 * The tolerances are about 20 times the drift measured between the two frameworks, and far inside what
 * each changed default does (the doc lists both). No TensorFlow is needed: only the real data files.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../job/backend/select.js';
import { FILES, loadFashionMnist } from '../../job/data/fashion-mnist.js';
import { openDataSource, SYSTEM_DATA_DIR } from '../../job/data/source.js';
import { prepareSplits, type Splits } from '../../job/data/splits.js';
import { createModel } from '../../job/model.js';
import { CLASS_COUNT, IMAGE_PIXELS } from '../../job/shared/fashion-mnist.js';
import { evaluateBatch } from '../../job/train-step.js';
import { armDrift, changedInputs, fixtureSchema, weightStatistics, type KerasFixture } from '../../reference/keras/parity.js';
import { recordTrace, TRACE_ARMS, traceDigests, type Trace } from '../../reference/keras/trace.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/keras-parity.json');
/** |ours − Keras| / Keras for each step's mean loss (measured: at most 4.3e-7). */
const LOSS_TOLERANCE = 1e-5;
/** ‖ours − Keras‖ / ‖Keras − initial‖ for each weight after the last step (measured: at most 3.2e-4). */
const WEIGHT_TOLERANCE = 1e-2;
/** Our initial weights' standard deviation and largest magnitude against Keras's default initialisers'. */
const INIT_STD_RANGE = [0.9, 1.1] as const;
const INIT_MAX_RANGE = [0.95, 1.01] as const;

const REGENERATE = 'if the change is meant, record a new fixture with reference/keras/record-fixture.sh (docs/keras-parity.md)';

const hasRealData = Object.values(FILES).every((name) => existsSync(path.join(SYSTEM_DATA_DIR, name)));

describe('parity with the Keras example', { skip: !hasRealData && 'dataset-fashion-mnist is not installed' }, () => {
  let fixture: KerasFixture;
  let splits: Splits;
  let trace: Trace;

  before(async () => {
    fixture = fixtureSchema.parse(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    await initBackend('wasm');
    splits = prepareSplits(await loadFashionMnist(openDataSource(SYSTEM_DATA_DIR)));
    trace = await recordTrace(splits.train, fixture.trace.settings);
  });

  test('the trace is the one Keras replayed: the same rows, λ, dropout masks and initial weights', () => {
    const changed = changedInputs(trace, fixture, traceDigests(trace));
    assert.deepEqual(changed, [], `today's trace differs from the fixture's in ${changed.join(', ')}; ${REGENERATE}`);
  });

  test("the initial weights spread as Keras's default initialisers' do (Glorot uniform kernels, zero biases)", () => {
    assert.equal(trace.initial.length, fixture.init.weights.length);
    trace.initial.forEach((weight, i) => {
      const keras = fixture.init.weights[i]!;
      const ours = weightStatistics(weight.values);
      const what = `weight ${i} [${weight.shape.join(', ')}]: ours std ${ours.std.toPrecision(4)}, max |w| ${ours.maxAbs.toPrecision(4)}; Keras's ${keras.std.toPrecision(4)}, ${keras.maxAbs.toPrecision(4)}`;
      assert.deepEqual(weight.shape, keras.shape, what);
      if (keras.maxAbs === 0) {
        assert.equal(ours.maxAbs, 0, what);
        return;
      }
      const stdRatio = ours.std / keras.std;
      const maxRatio = ours.maxAbs / keras.maxAbs;
      assert.ok(stdRatio >= INIT_STD_RANGE[0] && stdRatio <= INIT_STD_RANGE[1], what);
      assert.ok(maxRatio >= INIT_MAX_RANGE[0] && maxRatio <= INIT_MAX_RANGE[1], what);
    });
  });

  for (const arm of TRACE_ARMS) {
    test(`${arm}: each step's loss is Keras's within ${LOSS_TOLERANCE} (relative)`, () => {
      const { lossRelative } = armDrift(trace, fixture, arm);
      const worst = Math.max(...lossRelative);
      const step = lossRelative.indexOf(worst) + 1;
      assert.ok(
        worst <= LOSS_TOLERANCE,
        `${arm} step ${step}: loss ${trace.arms[arm].losses[step - 1]} vs Keras ${fixture.arms[arm].losses[step - 1]} (relative ${worst.toExponential(2)}); ` +
          `per step: ${lossRelative.map((d) => d.toExponential(1)).join(' ')}`,
      );
    });

    test(`${arm}: the weights after the last step are Keras's within ${WEIGHT_TOLERANCE} of how far they moved`, () => {
      const { weightRelative } = armDrift(trace, fixture, arm);
      const worst = Math.max(...weightRelative);
      assert.ok(
        worst <= WEIGHT_TOLERANCE,
        `${arm}: weight ${weightRelative.indexOf(worst)} is ${worst.toExponential(2)} of its movement away from Keras's; ` +
          `per weight: ${weightRelative.map((d) => d.toExponential(1)).join(' ')}`,
      );
    });
  }

  test("the tolerances catch a changed default: tfjs' own Adam (ε on the bias-corrected √v̂) fails them", async () => {
    const tfjsAdam = await recordTrace(splits.train, fixture.trace.settings, { createOptimizer: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7) });
    for (const arm of TRACE_ARMS) {
      const { lossRelative, weightRelative } = armDrift(tfjsAdam, fixture, arm);
      assert.ok(Math.max(...lossRelative) > 10 * LOSS_TOLERANCE, `${arm}: losses only ${Math.max(...lossRelative).toExponential(2)} apart`);
      assert.ok(Math.max(...weightRelative) > 5 * WEIGHT_TOLERANCE, `${arm}: weights only ${Math.max(...weightRelative).toExponential(2)} apart`);
    }
  });

  test("a saturated model's loss is Keras's: from the logits, unclipped", () => {
    const { images, weight: scaled, points } = fixture.saturation;
    const model = createModel(fixture.trace.settings.seed);
    try {
      const x = splits.val.x.subarray(0, images * IMAGE_PIXELS);
      const y = splits.val.y.subarray(0, images * CLASS_COUNT);
      for (const { scale, loss } of points) {
        const weights = trace.initial.map((w, i) => tf.tensor(i === scaled ? w.values.map((v) => v * scale) : w.values, w.shape));
        model.setWeights(weights);
        tf.dispose(weights);
        const ours = evaluateBatch(model, x, y, images).lossSum / images;
        const relative = Math.abs(ours - loss) / loss;
        assert.ok(relative <= LOSS_TOLERANCE, `last kernel × ${scale}: mean loss ${ours} vs Keras ${loss} (relative ${relative.toExponential(2)})`);
      }
    } finally {
      model.dispose();
    }
  });
});
