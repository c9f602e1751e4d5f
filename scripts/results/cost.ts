/**
 * Compute seconds and an estimated cost per run and per sweep, from what was measured (each run's
 * `wallSeconds` in metrics.json) and the queue registry's prices and reservations
 * (job/shared/queues.ts). An estimate, labelled so: the queue's instance or Spot price is not known
 * after the fact, so each cost is a range from the cheapest way the queue could have run it to the
 * dearest. Start-up and image pull are not in `wallSeconds`, nor are the earlier attempts of a
 * resumed run (it times the last one), so the bill is somewhat higher.
 */
import { jobReservation, PRICE_BASIS, queueSpec, QUEUES, type QueueName } from '../../job/shared/queues.js';
import type { RunResult } from './read.js';

export interface CostRange {
  readonly low: number;
  readonly high: number;
}

/** Where a run ran: one of the stack's queues, this machine (`local`), or unknown (a lone run). */
export type RunPlace = QueueName | 'local' | null;

export interface RunCompute {
  readonly runId: string;
  readonly state: RunResult['state'];
  readonly queue: RunPlace;
  readonly backend: string | null;
  /** The job's own wall time (metrics.json); null until the run is complete. */
  readonly seconds: number | null;
  readonly cost: CostRange | null;
}

export interface ComputeSummary {
  readonly queue: RunPlace;
  readonly runs: readonly RunCompute[];
  /** Over complete runs. */
  readonly seconds: number;
  readonly cost: CostRange | null;
  /** What the estimate assumes, in words; null where no price applies. */
  readonly basis: string | null;
}

/** Per hour of one job on a queue that trains `arms` arms (a Fargate job pays for what it reserved). */
export function hourlyRange(queue: QueueName, arms: 1 | 2 = 1): CostRange {
  const price = queueSpec(queue).price;
  if (price.per === 'reserved-hour') {
    const { vcpus, memoryMiB } = jobReservation(queue, arms);
    const onDemand = vcpus * price.vcpuHour + (memoryMiB / 1024) * price.gbHour;
    return { low: onDemand * (1 - price.spotDiscount.max), high: onDemand };
  }
  const instances = Object.values(price.instances);
  return { low: Math.min(...instances.map((i) => i.spotTypical.low)), high: Math.max(...instances.map((i) => i.onDemand)) };
}

export function basisOf(queue: QueueName, arms: 1 | 2 = 1): string {
  const range = hourlyRange(queue, arms);
  const perHour = `${dollars(range.low)}–${dollars(range.high)} per job-hour`;
  const prices = `${PRICE_BASIS.region} prices of ${PRICE_BASIS.date}`;
  const price = queueSpec(queue).price;
  if (price.per === 'reserved-hour') {
    const { vcpus, memoryMiB } = jobReservation(queue, arms);
    return `estimate: Fargate ${vcpus} vCPU / ${memoryMiB / 1024} GB, ${perHour} (Spot at ${price.spotDiscount.max * 100} % off to on-demand), ${prices}`;
  }
  return `estimate: one ${Object.keys(price.instances).join(' / ')}, ${perHour} (typical Spot to on-demand), ${prices}`;
}

/** `arms`: how many arms each job trained (2 in sweeps recorded before the baselines were shared). */
export function computeSummary(runs: readonly RunResult[], queue: RunPlace, arms: 1 | 2 = 1): ComputeSummary {
  const priced = isQueue(queue);
  const rate = priced ? hourlyRange(queue, arms) : null;
  const costOf = (seconds: number): CostRange | null => (rate ? { low: (rate.low * seconds) / 3600, high: (rate.high * seconds) / 3600 } : null);
  const perRun: RunCompute[] = runs.map((run) => ({
    runId: run.runId,
    state: run.state,
    queue,
    backend: run.backend,
    seconds: run.wallSeconds,
    cost: run.wallSeconds === null ? null : costOf(run.wallSeconds),
  }));
  const seconds = perRun.reduce((total, run) => total + (run.seconds ?? 0), 0);
  return {
    queue,
    runs: perRun,
    seconds,
    cost: costOf(seconds),
    basis: priced ? basisOf(queue, arms) : null,
  };
}

function isQueue(place: RunPlace): place is QueueName {
  return (QUEUES as readonly (string | null)[]).includes(place);
}

/** `$0.0123`: four significant digits at most, enough for a fraction of a cent. */
export function dollars(amount: number): string {
  if (amount === 0) return '$0';
  const digits = amount >= 1 ? 2 : Math.min(6, 1 - Math.floor(Math.log10(amount)) + 1);
  return `$${amount.toFixed(digits)}`;
}

export function formatCost(cost: CostRange | null): string {
  return cost ? `${dollars(cost.low)}–${dollars(cost.high)}` : '—';
}
