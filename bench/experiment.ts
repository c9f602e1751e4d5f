/**
 * The goal's benchmark: `npm run bench:experiment [-- --epochs 2 --rounds 1 --seed 42 --data DIR
 * --backend auto|wasm|tensorflow|cpu[,…]]`. Runs the whole experiment (both arms, N epochs, real
 * Fashion-MNIST, default settings) in fresh processes with the same epochs, seed and data
 * (bench/experiment-sides.ts): ours (`mixup run`, once per listed backend; `tensorflow` needs
 * `npm run build:tensorflow` first), the PyTorch reference (where /usr/bin/python3 has torch) and the
 * Keras example (where reference/keras/setup.sh has made .venv-keras). A peer that cannot run here is
 * skipped with one line on stderr. The order of the sides rotates from round to round, so that drift
 * in the machine's load hits each alike. Prints one JSON object: each side's wall and CPU seconds per
 * round (CPU: user + system of the processes, which a shared machine disturbs less than wall time),
 * medians and test accuracies; `ratio` = the faster peer's median wall / ours (≥ 1 means ours is
 * faster), per round too (bench/experiment-ratios.ts), for the first backend and, under `backends`, for
 * each; images/s per core and the share of the machine's peak FLOP/s (bench/throughput.ts says how
 * both are counted).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../job/backend/select.js';
import { UsageError } from '../job/errors.js';
import { BACKENDS } from '../job/shared/run-settings.js';
import { ratiosAgainstPeers } from './experiment-ratios.js';
import { kerasSide, oursSide, ROOT, torchSide, type Side, type SideRun } from './experiment-sides.js';
import { machinePeak, trainingFlopsPerImage } from './throughput.js';
import { median } from './timing.js';
import { positiveInt } from './flags.js';

const DEFAULT_DATA = '/usr/share/datasets/fashion-mnist';
/** Training images per arm and epoch: the 60,000 less the 2,000 the example validates on. */
const TRAIN_IMAGES = 58_000;
const ARMS = 2;

interface Options {
  readonly epochs: number;
  readonly rounds: number;
  readonly seed: number;
  readonly data: string;
  /** `mixup run --backend` values, each a side of its own; the first is `ours` in the report. */
  readonly backends: readonly string[];
  readonly reference: string;
  readonly kerasPython: string;
  readonly kerasReference: string;
  readonly ghz: number | undefined;
  readonly fmaUnits: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      epochs: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      data: { type: 'string', default: process.env['FASHION_MNIST_DIR'] ?? DEFAULT_DATA },
      backend: { type: 'string', default: 'auto' },
      reference: { type: 'string', default: join(ROOT, 'reference', 'pytorch', 'mixup_torch.py') },
      'keras-python': { type: 'string', default: join(ROOT, '.venv-keras', 'bin', 'python') },
      'keras-reference': { type: 'string', default: join(ROOT, 'reference', 'keras', 'mixup_keras.py') },
      ghz: { type: 'string' },
      'fma-units': { type: 'string', default: '2' },
    },
  });
  const backends = values.backend.split(',').map((b) => b.trim());
  for (const backend of backends) {
    if (!(BACKENDS as readonly string[]).includes(backend)) {
      throw new UsageError(`--backend ${values.backend}: '${backend}' is not one of ${BACKENDS.join(', ')}`);
    }
  }
  if (new Set(backends).size !== backends.length) throw new UsageError(`--backend ${values.backend}: a backend is listed twice`);
  const ghz = values.ghz === undefined ? undefined : Number(values.ghz);
  if (ghz !== undefined && !(ghz > 0)) throw new UsageError(`--ghz must be a positive number, got '${values.ghz}'`);
  return {
    epochs: positiveInt('epochs', values.epochs),
    rounds: positiveInt('rounds', values.rounds),
    seed: positiveInt('seed', values.seed, 0),
    data: values.data,
    backends,
    reference: values.reference,
    kerasPython: values['keras-python'],
    kerasReference: values['keras-reference'],
    ghz,
    fmaUnits: positiveInt('fma-units', values['fma-units']),
  };
}

const round3 = (value: number) => Number(value.toFixed(3));

interface Throughput {
  readonly imagesPerCoreSecond: number;
  readonly peakShare: number;
  readonly withoutFmaShare: number;
}

/** Training images per CPU second (the whole process: start-up, data, evaluation included) and their FLOP/s against the peak. */
function throughput(cpuSeconds: number, epochs: number, flopsPerImage: number, peak: ReturnType<typeof machinePeak>): Throughput | null {
  if (peak === null || cpuSeconds <= 0) return null;
  const imagesPerCoreSecond = (ARMS * epochs * TRAIN_IMAGES) / cpuSeconds;
  const gflopsPerCore = (imagesPerCoreSecond * flopsPerImage) / 1e9;
  return {
    imagesPerCoreSecond: Math.round(imagesPerCoreSecond),
    peakShare: Number((gflopsPerCore / (peak.peakGflops / peak.cores)).toFixed(4)),
    withoutFmaShare: Number((gflopsPerCore / (peak.withoutFmaGflops / peak.cores)).toFixed(4)),
  };
}

function summary(runs: SideRun[], epochs: number, flopsPerImage: number, peak: ReturnType<typeof machinePeak>): Record<string, unknown> {
  const wall = runs.map((r) => r.wallSeconds);
  const cpu = runs.map((r) => r.cpuSeconds);
  const arms = runs.flatMap((r) => Object.values(r.armImagesPerSecond ?? {}));
  return {
    wallSeconds: wall.map(round3),
    cpuSeconds: cpu.map(round3),
    medianWallSeconds: round3(median(wall)),
    medianCpuSeconds: round3(median(cpu)),
    testAccuracy: runs.map((r) => r.testAccuracy),
    perCore: throughput(median(cpu), epochs, flopsPerImage, peak),
    ...(arms.length > 0 ? { armTrainingImagesPerSecond: Math.round(median(arms)) } : {}),
  };
}

/** The side of ours for each backend: `ours` for the first (the report's headline), `ours:<backend>` for the rest. */
const oursName = (backends: readonly string[], backend: string) => (backend === backends[0] ? 'ours' : `ours:${backend}`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(options.data)) throw new UsageError(`--data ${options.data}: no such directory (apt-get install dataset-fashion-mnist)`);
  await initBackend('wasm'); // for the model's shapes (FLOPs per image), quietly
  const ourSides = options.backends.map((backend) => oursSide(oursName(options.backends, backend), backend));
  const peerSides = [await torchSide('/usr/bin/python3', options.reference), kerasSide(options.kerasPython, options.kerasReference)];
  const sides: Side[] = [...ourSides, ...peerSides];
  for (const side of sides) if ('unavailable' in side) process.stderr.write(`bench:experiment: ${side.name} skipped: ${side.unavailable}\n`);
  const running = sides.filter((side): side is Extract<Side, { run: unknown }> => 'run' in side);
  const results = new Map<string, SideRun[]>(running.map((side) => [side.name, []]));
  for (let r = 0; r < options.rounds; r++) {
    // Rotate the order: ours first, second, third, …
    const order = running.map((_, i) => running[(i + r) % running.length]!);
    for (const side of order) {
      process.stderr.write(`bench:experiment: round ${r + 1}/${options.rounds}, ${side.name}…\n`);
      results.get(side.name)!.push(await side.run(options, r));
    }
  }
  const flops = trainingFlopsPerImage();
  const peak = machinePeak({ ghz: options.ghz, fmaUnits: options.fmaUnits });
  const peers = peerSides.map((side) => [side.name, results.get(side.name) ?? []] as const);
  const ourReport = (backend: string) => {
    const runs = results.get(oursName(options.backends, backend))!;
    return { backend: runs.at(-1)?.backend ?? '', ...summary(runs, options.epochs, flops.training, peak), ...ratiosAgainstPeers(runs, peers) };
  };
  const { backend, fasterPeer, ratio, roundRatios, cpuRatio, ...ours } = ourReport(options.backends[0]!);
  const report = {
    epochs: options.epochs,
    seed: options.seed,
    rounds: options.rounds,
    data: options.data,
    ours: { command: 'mixup run', backend, ...ours },
    ...Object.fromEntries(
      peerSides.map((side) => [
        side.name,
        'unavailable' in side ? { available: false, reason: side.unavailable } : { available: true, ...summary(results.get(side.name)!, options.epochs, flops.training, peak) },
      ]),
    ),
    // The first --backend's comparison (bench/experiment-ratios.ts): ≥ 1 means ours is faster.
    fasterPeer,
    ratio,
    roundRatios,
    cpuRatio,
    // Every --backend, by the name asked for, each with its own comparison.
    backends: Object.fromEntries(options.backends.map((b) => [b, ourReport(b)])),
    flopsPerTrainingImage: flops.training,
    peak,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:experiment: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? err.exitCode : 1);
});
