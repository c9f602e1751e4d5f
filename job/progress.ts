import cliProgress from 'cli-progress';

import type { EpochRecord } from './shared/metrics.js';
import type { StepProgress } from './train.js';

/** How a run tells people what it is doing: bars on a terminal, JSON lines for CloudWatch. */
export interface Reporter {
  event(name: string, fields?: Record<string, unknown>): void;
  step(progress: StepProgress): void;
  epoch(arm: string, record: EpochRecord, epochs: number): void;
  close(): void;
}

/** Redraws at most this often; a bar repaint costs more than a wasm train step. */
const REDRAW_MS = 200;

export function createReporter(stream: NodeJS.WriteStream = process.stderr, json = !stream.isTTY): Reporter {
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(stream);
  return json ? new JsonReporter() : new BarReporter(stream);
}

const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A reader that went away (`mixup run | head`) makes writes fail with EPIPE, emitted as an 'error'
 * event that would otherwise kill the process mid-training: logging is not worth a run. Other write
 * errors still surface.
 */
export function ignoreClosedPipe(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

class JsonReporter implements Reporter {
  event(name: string, fields: Record<string, unknown> = {}): void {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event: name, ...fields })}\n`);
  }

  step(): void {}

  epoch(arm: string, record: EpochRecord, epochs: number): void {
    this.event('epoch', { arm, epochs, ...record });
  }

  close(): void {}
}

class BarReporter implements Reporter {
  private bar: cliProgress.SingleBar | null = null;
  private barKey = '';
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  event(name: string, fields: Record<string, unknown> = {}): void {
    this.stopBar();
    const detail = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    this.stream.write(`${name}${detail ? ` ${detail}` : ''}\n`);
  }

  step(p: StepProgress): void {
    const key = `${p.arm}/${p.epoch}`;
    if (key !== this.barKey) {
      this.stopBar();
      this.barKey = key;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${p.arm.padEnd(8)} epoch ${p.epoch} [{bar}] {value}/{total} | {ips} img/s | loss {loss} | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          noTTYOutput: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.steps, 0, { ips: '-', loss: '-' });
    }
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && p.step < p.steps) return;
    this.lastDraw = now;
    this.bar!.update(p.step, {
      ips: Math.round(p.partial.seen / Math.max(p.partial.seconds, 1e-9)),
      loss: (p.partial.lossSum / p.partial.seen).toFixed(4),
    });
  }

  epoch(arm: string, r: EpochRecord, epochs: number): void {
    this.stopBar();
    this.stream.write(
      `${arm.padEnd(8)} epoch ${r.epoch}/${epochs}: loss ${r.loss.toFixed(4)} acc ${pct(r.accuracy)} | ` +
        `val loss ${r.valLoss.toFixed(4)} acc ${pct(r.valAccuracy)} | ${r.seconds.toFixed(1)} s\n`,
    );
  }

  close(): void {
    this.stopBar();
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = null;
    this.barKey = '';
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}
