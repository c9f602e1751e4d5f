/**
 * The storage layout the job writes and the commands and the stack read: one home, so a renamed file
 * cannot leave a reader or a lifecycle rule looking for the old name.
 *
 *   <out>/<run-id>/                              one `mixup run` (RUN_FILES, then MANIFEST_KEY last)
 *   <results>/sweeps/<sweep-id>/sweep.json       a sweep's plan
 *   <results>/sweeps/<sweep-id>/runs/<run-id>/   its runs
 */

/** A run's result files; `manifest.json` is written after all of them. */
export const RUN_FILES = {
  metrics: 'metrics.json',
  history: 'history.csv',
  samples: 'samples.png',
  curves: 'curves.png',
  models: 'models',
} as const;

/** Written first: the run's identity (settings, data checksums, backend), compared by every later start. */
export const RUN_IDENTITY = 'run.json';
/** Held while a process works on the run: one holder per run id. Never listed in the manifest. */
export const RUN_LEASE = 'lease.json';

/** Written last: its presence is what makes a run complete. */
export const MANIFEST_KEY = 'manifest.json';

/** Working state for resuming, never listed in the manifest. */
export const CHECKPOINT_DIR = 'checkpoints';
export const CHECKPOINT_STATE = `${CHECKPOINT_DIR}/state.json`;
/** The S3 object tag checkpoints carry and the stack's lifecycle rule expires by (run ids vary, so no prefix can). */
export const CHECKPOINT_TAG = { key: 'kind', value: 'checkpoint' } as const;
export const CHECKPOINT_TAGS: Readonly<Record<string, string>> = { [CHECKPOINT_TAG.key]: CHECKPOINT_TAG.value };

/** Under a results location: single runs and sweeps. */
export const RUNS_PREFIX = 'runs';
export const SWEEPS_PREFIX = 'sweeps';
/** Under `sweeps/<sweep-id>/`: the plan and the folder of its runs. */
export const SWEEP_FILE = 'sweep.json';
export const SWEEP_RUNS_DIR = 'runs';
/** Under the data bucket: where `seed-data` puts Fashion-MNIST and the job definition points the job. */
export const DATA_PREFIX = 'fashion-mnist';
