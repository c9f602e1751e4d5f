/**
 * Train-step benchmark: `npm run bench [-- --backends wasm --rounds 7 --steps 30]`.
 * For each backend that loads, train images/s at batch 64 for each arm (the mixup arm trains on
 * mixed batches), the mixup step's share of a train step, the data load time from the real
 * Fashion-MNIST files, and peak RSS, printed as one JSON object on stdout. Figures are medians over
 * rounds, because a shared machine swings by ±25 % between measurements.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../job/backend/select.js';
import { EpochBatches } from '../job/batches.js';
import { loadFashionMnist } from '../job/data/fashion-mnist.js';
import { openDataSource } from '../job/data/source.js';
import { prepareSplits, type Split, type TrainSplit } from '../job/data/splits.js';
import { JobError, UsageError } from '../job/errors.js';
import { mixBatch, sampleLambda } from '../job/augmentations/mixup.js';
import { createModel, setDropoutSeed } from '../job/model.js';
import { deriveSeed, rngFor } from '../job/random.js';
import { createOptimizer, trainStep } from '../job/train-step.js';
import type { ArmName } from '../job/shared/metrics.js';
import { median } from './timing.js';
import { positiveInt } from './flags.js';

const BATCH_SIZE = 64;
const ALPHA = 0.2;
const SEED = 42;
const ARMS: readonly ArmName[] = ['baseline', 'mixup'];
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
/** Stock-speed cpu takes seconds per step, so it is measured briefly. */
const CPU_STEPS = 2;
const WARMUP_STEPS = 3;
const MIXUP_REPEATS = 200;

interface BenchOptions {
  readonly backends: readonly BackendName[];
  readonly rounds: number;
  readonly steps: number;
  readonly data: string | undefined;
}

interface ArmFigures {
  /** Median over rounds of batch-64 train images per second, wall clock. */
  readonly imagesPerSecond: number;
  readonly roundImagesPerSecond: number[];
  readonly medianStepMs: number;
  /**
   * The same from the process's CPU time: what an idle core would give. On a loaded machine the
   * wall-clock figure mostly measures the other processes; wasm in Node runs on one thread.
   */
  readonly cpuImagesPerSecond: number;
  readonly medianStepCpuMs: number;
}

interface StepTimes {
  readonly wallMs: number;
  readonly cpuMs: number;
}

type BackendFigures =
  | { readonly backend: BackendName; readonly available: false; readonly reason: string }
  | {
      readonly backend: BackendName;
      readonly available: true;
      readonly package: string | null;
      readonly versions: Record<string, string | null>;
      readonly stepsPerRound: number;
      readonly arms: Record<ArmName, ArmFigures>;
      /** The mixup step (λ draws + mixing one batch) over a mixup-arm train step. */
      readonly mixupMs: number;
      readonly mixupShareOfStep: number;
      /** Tensors alive after the last measured step minus after the warm-up: must be 0. */
      readonly tensorLeak: number;
    };

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backends: { type: 'string', default: BACKENDS.join(',') },
      rounds: { type: 'string', default: '5' },
      steps: { type: 'string', default: '20' },
      data: { type: 'string' },
    },
  });
  const backends = values.backends.split(',').map((b) => b.trim());
  for (const b of backends) {
    if (!(BACKENDS as readonly string[]).includes(b)) {
      throw new UsageError(`--backends ${values.backends}: '${b}' is not one of ${BACKENDS.join(', ')}`);
    }
  }
  return {
    backends: backends as BackendName[],
    rounds: positiveInt('rounds', values.rounds),
    steps: positiveInt('steps', values.steps),
    data: values.data,
  };
}

/** Median wall and CPU milliseconds of one `trainStep` over `steps` consecutive batches of `arm`. */
function timeArm(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  train: TrainSplit,
  arm: ArmName,
  epoch: number,
  steps: number,
): StepTimes {
  const batches = new EpochBatches(train, { augmentation: arm === 'baseline' ? 'none' : arm, params: { alpha: ALPHA } }, BATCH_SIZE, SEED, epoch);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = batches.batch(step % batches.steps);
    // As training does (job/train.ts): a layer without a seed takes tfjs' own, slower dropout.
    setDropoutSeed(model, deriveSeed(SEED, 'dropout', epoch, step));
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    trainStep(model, optimizer, batch.x, batch.y, batch.size);
    const used = process.cpuUsage(cpuStarted);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

/** Median milliseconds of drawing λ and mixing one batch, the work the mixup arm adds. */
function timeMixup(images: Split): number {
  const rows = BATCH_SIZE;
  const x1 = images.x.subarray(0, rows * 784);
  const y1 = images.y.subarray(0, rows * 10);
  const x2 = images.x.subarray(rows * 784, 2 * rows * 784);
  const y2 = images.y.subarray(rows * 10, 2 * rows * 10);
  const out = { x: new Float32Array(rows * 784), y: new Float32Array(rows * 10) };
  const times: number[] = [];
  for (let i = 0; i < MIXUP_REPEATS; i++) {
    const started = performance.now();
    mixBatch(x1, y1, x2, y2, sampleLambda(ALPHA, rows, rngFor(SEED, 'bench', i)), out);
    times.push(performance.now() - started);
  }
  return median(times);
}

async function benchBackend(
  name: BackendName,
  train: TrainSplit,
  images: Split,
  options: BenchOptions,
): Promise<BackendFigures> {
  let selected;
  try {
    selected = await initBackend(name);
  } catch (err) {
    if (err instanceof JobError) return { backend: name, available: false, reason: err.message };
    throw err;
  }
  const steps = name === 'cpu' ? CPU_STEPS : options.steps;
  const rounds = name === 'cpu' ? 1 : options.rounds;
  const model = createModel();
  const optimizer = createOptimizer();
  timeArm(model, optimizer, train, 'mixup', 0, name === 'cpu' ? 1 : WARMUP_STEPS);
  // After the warm-up, so that the optimizer's lazily created slots are counted.
  const tensorsBefore = tf.memory().numTensors;

  const perRound: Record<ArmName, StepTimes[]> = { baseline: [], mixup: [] };
  for (let r = 0; r < rounds; r++) {
    // Arms alternate within a round so that drift in machine load hits both alike.
    for (const arm of ARMS) perRound[arm].push(timeArm(model, optimizer, train, arm, r + 1, steps));
  }
  const arms = Object.fromEntries(
    ARMS.map((arm) => {
      const ms = median(perRound[arm].map((t) => t.wallMs));
      const cpuMs = median(perRound[arm].map((t) => t.cpuMs));
      const figures: ArmFigures = {
        imagesPerSecond: round((BATCH_SIZE * 1000) / ms, 1),
        roundImagesPerSecond: perRound[arm].map((t) => round((BATCH_SIZE * 1000) / t.wallMs, 1)),
        medianStepMs: round(ms),
        cpuImagesPerSecond: round((BATCH_SIZE * 1000) / cpuMs, 1),
        medianStepCpuMs: round(cpuMs),
      };
      return [arm, figures];
    }),
  ) as Record<ArmName, ArmFigures>;
  const tensorLeak = tf.memory().numTensors - tensorsBefore;
  optimizer.dispose();
  model.dispose();
  const mixupMs = timeMixup(images);
  return {
    backend: name,
    available: true,
    package: selected.package,
    versions: selected.versions,
    stepsPerRound: steps,
    arms,
    mixupMs: round(mixupMs, 4),
    mixupShareOfStep: round(mixupMs / arms.mixup.medianStepMs, 5),
    tensorLeak,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const raw = await loadFashionMnist(openDataSource(options.data));
  const splits = prepareSplits(raw);
  const dataLoadSeconds = (performance.now() - started) / 1000;

  const backends: BackendFigures[] = [];
  for (const name of options.backends) {
    process.stderr.write(`bench: ${name}…\n`);
    backends.push(await benchBackend(name, splits.train, splits.val, options));
  }
  const report = {
    batchSize: BATCH_SIZE,
    rounds: options.rounds,
    data: {
      seconds: round(dataLoadSeconds),
      readAndParseSeconds: round(raw.loadSeconds),
      trainImages: splits.train.count,
      standard: raw.standard,
    },
    backends,
    peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
    node: process.versions.node,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof JobError) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`bench: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
