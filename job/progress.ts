import cliProgress from 'cli-progress';

import { ignoreClosedPipe } from './closed-pipe.js';
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

/** One bar per arm in training (two when both arms train at once), with the lines of events above them. */
class BarReporter implements Reporter {
  private multi: cliProgress.MultiBar | null = null;
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; epoch: number; lastDraw: number }>();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  event(name: string, fields: Record<string, unknown> = {}): void {
    const detail = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    this.line(`${name}${detail ? ` ${detail}` : ''}`);
  }

  step(p: StepProgress): void {
    let entry = this.bars.get(p.arm);
    if (entry?.epoch !== p.epoch) {
      if (entry) this.removeBar(p.arm);
      this.multi ??= new cliProgress.MultiBar(
        { stream: this.stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50, noTTYOutput: false },
        cliProgress.Presets.shades_classic,
      );
      const format = `${p.arm.padEnd(8)} epoch ${p.epoch} [{bar}] {value}/{total} | {ips} img/s | loss {loss} | ETA {eta_formatted}`;
      entry = { bar: this.multi.create(p.steps, 0, { ips: '-', loss: '-' }, { format }), epoch: p.epoch, lastDraw: 0 };
      this.bars.set(p.arm, entry);
    }
    const now = performance.now();
    if (now - entry.lastDraw < REDRAW_MS && p.step < p.steps) return;
    entry.lastDraw = now;
    entry.bar.update(p.step, {
      ips: Math.round(p.partial.seen / Math.max(p.partial.seconds, 1e-9)),
      loss: (p.partial.lossSum / p.partial.seen).toFixed(4),
    });
  }

  epoch(arm: string, r: EpochRecord, epochs: number): void {
    this.removeBar(arm);
    this.line(
      `${arm.padEnd(8)} epoch ${r.epoch}/${epochs}: loss ${r.loss.toFixed(4)} acc ${pct(r.accuracy)} | ` +
        `val loss ${r.valLoss.toFixed(4)} acc ${pct(r.valAccuracy)} | ${r.seconds.toFixed(1)} s`,
    );
  }

  close(): void {
    this.stopAll();
  }

  /** Above the bars while some are drawn (the next redraw prints it), else straight out. */
  private line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else this.stream.write(`${text}\n`);
  }

  private removeBar(arm: string): void {
    const entry = this.bars.get(arm);
    if (!entry || !this.multi) return;
    this.bars.delete(arm);
    this.multi.remove(entry.bar);
    if (this.bars.size === 0) this.stopAll();
  }

  private stopAll(): void {
    if (!this.multi) return;
    // stop() does not print what log() buffered; a last update does.
    this.multi.update();
    this.multi.stop();
    this.multi = null;
    this.bars.clear();
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}
