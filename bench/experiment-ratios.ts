/**
 * bench:experiment's comparison: ours against the faster peer (PyTorch or Keras). The faster peer is
 * the one with the lower median wall time over the invocation's rounds; each ratio is the peer's
 * seconds / ours, so ≥ 1 means ours is faster.
 */
import { median } from './timing.js';

export interface TimedRun {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

export interface PeerRatios {
  /** The peer with the lowest median wall time, or null where no peer ran. */
  readonly fasterPeer: string | null;
  /** The faster peer's median wall / ours. */
  readonly ratio: number | null;
  /** Per round: the faster of the peers in that round / ours. */
  readonly roundRatios: number[];
  /** The faster peer's median CPU seconds / ours. */
  readonly cpuRatio: number | null;
}

const round3 = (value: number) => Number(value.toFixed(3));
const medianOf = (runs: readonly TimedRun[], key: keyof TimedRun) => median(runs.map((run) => run[key]));

export function ratiosAgainstPeers(ours: readonly TimedRun[], peers: ReadonlyArray<readonly [string, readonly TimedRun[]]>): PeerRatios {
  const ran = peers.filter(([, runs]) => runs.length > 0);
  if (ran.length === 0 || ours.length === 0) return { fasterPeer: null, ratio: null, roundRatios: [], cpuRatio: null };
  const [name, runs] = ran.reduce((best, peer) => (medianOf(peer[1], 'wallSeconds') < medianOf(best[1], 'wallSeconds') ? peer : best));
  return {
    fasterPeer: name,
    ratio: round3(medianOf(runs, 'wallSeconds') / medianOf(ours, 'wallSeconds')),
    roundRatios: ours.map((run, i) => round3(Math.min(...ran.map(([, r]) => r[i]!.wallSeconds)) / run.wallSeconds)),
    cpuRatio: round3(medianOf(runs, 'cpuSeconds') / medianOf(ours, 'cpuSeconds')),
  };
}
