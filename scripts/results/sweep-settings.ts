/**
 * A run checked against what its sweep asked of it. A run folder holds whatever was put there
 * (a run of other epochs copied in, a rerun from another folder on other data), and its manifest only
 * vouches for its own bytes; so before a run is averaged in, its metrics.json must record the sweep's
 * settings (epochs, batch size, validation count, training limit, data, backend). `outliers.ts` then
 * compares the complete runs with each other.
 */
import type { Metrics } from '../../job/shared/metrics.js';
import { FORWARDED_SETTINGS, RUN_SETTINGS, type ForwardedSetting } from '../../job/shared/run-settings.js';
import type { SweepRecord } from '../../job/shared/sweep-record.js';

/** The settings a sweep passes to every run and that change what a run computes (the backend, compared resolved, is below). */
const CHECKED = FORWARDED_SETTINGS.filter((name) => RUN_SETTINGS[name].identity === true) as Exclude<ForwardedSetting, 'backend' | 'parallelArms'>[];

/** One phrase per setting of `metrics` that differs from the sweep's, e.g. `epochs 2, the sweep's 1`. */
export function settingsMismatches(record: SweepRecord, metrics: Metrics): string[] {
  const differences: string[] = [];
  for (const name of CHECKED) {
    const asked = expected(record, name);
    const recorded = metrics.config[name];
    // The training limit is recorded as used: a limit above the data's size is clamped to it.
    const same = name === 'trainLimit' && asked !== null && recorded !== null ? recorded <= (asked as number) : recorded === asked;
    if (!same) differences.push(`${name} ${show(recorded)}, the sweep's ${show(asked)}`);
  }
  const backend = expected(record, 'backend');
  if (backend !== 'auto' && metrics.backend !== backend) differences.push(`backend ${metrics.backend}, the sweep's ${String(backend)}`);
  // sweep.json records the data resolved (an absolute path or a URI); a relative one, from before, says nothing.
  if (record.data !== null && /^([a-z][a-z0-9+.-]*:\/\/|\/)/i.test(record.data) && metrics.config.data !== record.data) {
    differences.push(`data ${metrics.config.data}, the sweep's ${record.data}`);
  }
  return differences;
}

/** The sweep's value of a setting: as given to the sweep, else the job's default. */
function expected(record: SweepRecord, name: ForwardedSetting): unknown {
  const setting = RUN_SETTINGS[name];
  const given = record.settings[name];
  const text = given !== undefined ? String(given) : setting.default;
  if (text === undefined) return 'unset' in setting ? setting.unset : null;
  const parsed = (setting.parse as { safeParse(text: string): { success: boolean; data?: unknown } }).safeParse(text);
  return parsed.success ? parsed.data : text;
}

function show(value: unknown): string {
  return value === null ? 'none' : String(value);
}
