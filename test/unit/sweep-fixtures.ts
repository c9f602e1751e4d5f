/** Test doubles shared by the sweep and results tests: an in-memory Storage and fixture runs. */
import { createCanvas } from '@napi-rs/canvas';

import type { Metrics } from '../../job/shared/metrics.js';
import { NotFoundError } from '../../job/errors.js';
import { gridJobs, gridPoints, gridRunId } from '../../job/shared/grid.js';
import { writeManifest } from '../../job/storage/manifest.js';
import type { Storage, StoredObject } from '../../job/storage/storage.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';

/** Objects live in one shared map keyed by full URI, so children and parents see the same bytes. */
export class MemoryStorage implements Storage {
  constructor(
    readonly uri: string,
    readonly objects: Map<string, Buffer> = new Map(),
  ) {}

  uriOf(key: string): string {
    return `${this.uri}/${key}`;
  }

  async read(key: string): Promise<Buffer> {
    const body = this.objects.get(this.uriOf(key));
    if (!body) throw new NotFoundError(this.uriOf(key));
    return body;
  }

  async exists(key: string): Promise<boolean> {
    return this.objects.has(this.uriOf(key));
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    this.objects.set(this.uriOf(key), Buffer.from(body));
  }

  async list(prefix = ''): Promise<StoredObject[]> {
    const base = `${this.uri}/`;
    return [...this.objects.entries()]
      .filter(([uri]) => uri.startsWith(base + prefix))
      .map(([uri, body]) => ({ key: uri.slice(base.length), size: body.length }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(this.uriOf(key));
  }

  child(sub: string): Storage {
    return new MemoryStorage(`${this.uri}/${sub.replace(/^\/+|\/+$/g, '')}`, this.objects);
  }
}

/** An opener over one shared map: `openStorage('s3://bucket')` and its children share objects. */
export function memoryOpener(objects = new Map<string, Buffer>()): {
  objects: Map<string, Buffer>;
  openStorage: (location: string) => Storage;
  opened: string[];
} {
  const opened: string[] = [];
  return {
    objects,
    opened,
    openStorage: (location) => {
      opened.push(location);
      return new MemoryStorage(location.replace(/\/+$/, ''), objects);
    },
  };
}

// ---- fixture runs ------------------------------------------------------------------------------


/** A small solid PNG, so the report has real images to embed. */
export function tinyPng(color: string, width = 40, height = 30): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, width, height);
  return canvas.toBuffer('image/png');
}

export interface FixtureRun {
  readonly alpha: number;
  readonly seed: number;
  readonly mixup?: number;
  readonly baseline?: number;
  /** Writes a version 2 metrics.json of a run of this method, whose arm holds `augmented`; absent: version 1 (MixUp's arm holds `mixup`). */
  readonly method?: string;
  readonly augmented?: number;
  /** 'complete' writes a manifest last; 'incomplete' stops before it. @default 'complete' */
  readonly state?: 'complete' | 'incomplete';
  /** metrics.json's wallSeconds and backend. @default 60, 'cpu' */
  readonly wallSeconds?: number;
  readonly backend?: string;
}

/** Writes a run as `mixup run` lays it out: metrics, history, pictures, then the manifest. */
export async function writeFixtureRun(run: Storage, fixture: FixtureRun, runId = gridRunId(fixture.alpha, fixture.seed)): Promise<void> {
  const arm = (accuracy: number) => ({
    history: [1, 2].map((epoch) => ({ epoch, loss: 1 / epoch, accuracy: accuracy - 0.1 / epoch, valLoss: 1.1 / epoch, valAccuracy: accuracy - 0.05 / epoch, seconds: 1 })),
    test: { loss: 0.4, accuracy },
    imagesPerSecond: 1000,
  });
  const method = fixture.method ?? 'mixup';
  const treated = fixture.method === undefined ? fixture.mixup : fixture.augmented;
  // Version 1, as written when MixUp was the only method (no config.method), unless a method is given.
  const metrics = {
    version: fixture.method === undefined ? 1 : 2,
    runId,
    config: {
      ...(fixture.method === undefined ? {} : { method }),
      alpha: fixture.alpha, epochs: 2, batchSize: 64, seed: fixture.seed, valSamples: 100, trainLimit: 200,
      data: '/data', out: '/out', runId, backend: 'cpu', parallelArms: 'auto',
      arms: treated === undefined ? 'baseline' : fixture.baseline === undefined ? method : 'both',
    },
    backend: fixture.backend ?? 'cpu',
    versions: { node: process.versions.node },
    dataset: { location: '/data', train: 200, val: 100, test: 100, standard: false, sha256sums: false, loadSeconds: 0.01 },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    wallSeconds: fixture.wallSeconds ?? 60,
    arms: {
      ...(treated !== undefined ? { [method]: arm(treated) } : {}),
      ...(fixture.baseline !== undefined ? { baseline: arm(fixture.baseline) } : {}),
    },
  } satisfies Omit<Metrics, 'config'> & { config: Omit<Metrics['config'], 'method'> & { method?: string } };
  await run.write('metrics.json', JSON.stringify(metrics), 'application/json');
  await run.write('history.csv', 'arm,epoch\n', 'text/csv');
  await run.write('curves.png', tinyPng('#1f77b4'), 'image/png');
  await run.write('samples.png', tinyPng('#ff7f0e'), 'image/png');
  if ((fixture.state ?? 'complete') === 'complete') {
    await writeManifest(run, runId, ['metrics.json', 'history.csv', 'curves.png', 'samples.png']);
  }
}

/** The settings of every fixture run, as a sweep that asked for them records them. */
export const FIXTURE_SETTINGS = { epochs: 2, batchSize: 64, valSamples: 100, trainLimit: 200 } as const;

/** A sweep.json for a local sweep of this grid. */
export function fixtureSweepRecord(sweepId: string, alphas: number[], seeds: number[], runsUri: string): SweepRecord {
  return {
    version: 1,
    sweepId,
    createdAt: '2026-01-01T00:00:00.000Z',
    executor: 'local',
    grid: { alphas, seeds, size: alphas.length * seeds.length, order: 'index = alphaIndex × seeds + seedIndex' },
    runs: gridPoints(alphas, seeds).map((p) => ({ ...p, runId: gridRunId(p.alpha, p.seed), arms: 'both' as const })),
    // What `writeFixtureRun`'s runs record: results checks every run against its sweep's settings.
    settings: FIXTURE_SETTINGS,
    environment: {},
    results: '.',
    runsUri,
    data: null,
    batch: null,
    local: { concurrency: 1 },
  };
}

/** A sweep.json of a local sweep of methods (version 3, shared baselines), as `mixup sweep` writes it. */
export function fixtureMethodsRecord(sweepId: string, methods: string[], alphas: number[], seeds: number[], runsUri: string): SweepRecord {
  const runs = gridJobs(alphas, seeds, methods);
  return {
    ...fixtureSweepRecord(sweepId, alphas, seeds, runsUri),
    version: 3,
    grid: { methods, alphas, seeds, size: runs.length, order: 'baselines, then method × α × seed' },
    runs,
  };
}
