import { CHECKPOINT_STATE } from '../../job/shared/layout.js';

/** What the helpers read of a run's storage (the job's Storage, local or S3). */
interface RunReader {
  exists(key: string): Promise<boolean>;
  read(key: string): Promise<Buffer>;
}

/**
 * Whether the run's checkpoint state is there and whole (it parses): the moment a kill test may
 * strike. On S3 (LocalStack too) a PUT is atomic, so a state that exists is whole; in a directory the
 * job replaces the file by a rename. The parse makes a kill test that lands on a torn state fail here,
 * naming it, rather than at the resume.
 */
export async function checkpointWhole(run: RunReader): Promise<boolean> {
  if (!(await run.exists(CHECKPOINT_STATE))) return false;
  try {
    return JSON.parse((await run.read(CHECKPOINT_STATE)).toString('utf8')) !== null;
  } catch {
    return false;
  }
}
