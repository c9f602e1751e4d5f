/**
 * Where a sweep's children read Fashion-MNIST, resolved once when the sweep is planned and recorded so in
 * sweep.json: a relative `--data ./data` typed in one folder would otherwise be read from whatever
 * folder a rerun starts in, and a missing run be trained on other data than its siblings.
 */
import path from 'node:path';

import { resolveDataLocation } from '../../job/data/location.js';
import type { Executor } from '../../job/shared/sweep-record.js';

/**
 * An absolute path or a URI (s3://, https://); for a local sweep without `--data`, what `mixup run`
 * would pick on this machine. null: a Batch sweep without `--data` (the stack's data bucket decides).
 */
export function resolveSweepData(data: string | undefined, executor: Executor, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | null {
  if (data === undefined && executor === 'batch') return null;
  const location = resolveDataLocation(data, env);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : path.resolve(cwd, location);
}
