import { CHECKPOINT_STATE } from '../../job/shared/layout.js';

/** What the helpers read of a run's storage (the job's Storage, local or S3). */
interface RunReader {
  exists(key: string): Promise<boolean>;
  read(key: string): Promise<Buffer>;
}

/** Whether the run's checkpoint state is there and whole (it parses). */
export async function checkpointWhole(run: RunReader): Promise<boolean> {
  if (!(await run.exists(CHECKPOINT_STATE))) return false;
  try {
    return JSON.parse((await run.read(CHECKPOINT_STATE)).toString('utf8')) !== null;
  } catch {
    return false;
  }
}

/**
 * Freezes the job (`freeze(true)`) at a moment its checkpoint state is whole, thawing it
 * (`freeze(false)`) and trying again while a state write is in flight. s3rver shows an object while
 * its body is still arriving (S3's PUT is atomic), so a kill during a state write would leave it
 * half-written, which only this test server can do; with fast epochs and two arms writing, such a
 * write is often in flight.
 */
export async function freezeWithWholeCheckpoint(run: RunReader, freeze: (frozen: boolean) => void): Promise<void> {
  for (;;) {
    freeze(true);
    if (await checkpointWhole(run)) return;
    freeze(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
