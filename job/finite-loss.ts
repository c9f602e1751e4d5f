import { JobError } from './errors.js';
import type { StepProgress } from './train.js';

/**
 * A loss that turns NaN or ±∞ never recovers, and every number after it would be garbage reported as a
 * result. Checked after every step (the epoch's running sum stays non-finite once a step is), before any
 * checkpoint could save the poisoned weights.
 */
export function assertFiniteLoss(progress: StepProgress): void {
  const loss = progress.partial.lossSum;
  if (Number.isFinite(loss)) return;
  throw new JobError(
    `${progress.arm} arm: the training loss became ${loss} at epoch ${progress.epoch}, step ${progress.step}; ` +
      `stopped without results, the last checkpoint is kept`,
  );
}
