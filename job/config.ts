import { randomBytes } from 'node:crypto';

import type { z } from 'zod';

import { UsageError } from './errors.js';
import { NATIVE_CONV_ENV, nativeConvSettingProblem } from './backend/native-conv.js';
import { gridPointFromEnv } from './shared/grid.js';
import { methodNames, methodProblem } from './augmentation-registry.js';
import {
  BASELINE_ARM,
  BOTH_ARMS,
  envName,
  NO_AUGMENTATION,
  RUN_ID_PATTERN,
  RUN_SETTINGS,
  type RunConfig,
  type RunSettingName,
} from './shared/run-settings.js';

export { envName };
export type RawRunFlags = Partial<Record<RunSettingName, string | number | undefined>>;

/**
 * The run's settings from its flags and variables, by the settings table (job/shared/run-settings.ts).
 * Flags beat `MIXUP_*` variables, which beat defaults. Every problem is collected, so a user
 * fixes them in one go; the message names the flag, where the value came from and the rule.
 */
export function resolveRunConfig(
  flags: RawRunFlags,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): RunConfig {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of Object.keys(RUN_SETTINGS) as RunSettingName[]) {
    const option = RUN_SETTINGS[name];
    const fromFlag = flags[name];
    const fromEnv = env[envName(name)];
    const raw = fromFlag !== undefined ? String(fromFlag) : fromEnv !== undefined && fromEnv !== '' ? fromEnv : option.default;
    if (raw === undefined) {
      values[name] = (option as { unset?: unknown }).unset;
      continue;
    }
    const parsed = (option.parse as z.ZodType).safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      const source = fromFlag !== undefined ? `${option.flag} ${JSON.stringify(String(fromFlag))}` : `${option.flag} (from ${envName(name)}=${JSON.stringify(fromEnv)})`;
      problems.push(`${source}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    }
  }
  // An environment-only setting (it changes speed, never a result), checked with the rest.
  const nativeProblem = nativeConvSettingProblem(env[NATIVE_CONV_ENV]);
  if (nativeProblem !== null) problems.push(nativeProblem);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const config = values as { -readonly [K in RunSettingName]: RunConfig[K] };
  // A sweep child (AWS Batch array job) finds its own α, seed and run id from the grid and its index.
  const point = gridPointFromEnv(env);
  if (point && flags.alpha === undefined) config.alpha = point.alpha;
  if (point && flags.seed === undefined) config.seed = point.seed;
  // A sweep with shared baselines also gives each child its arm, and a sweep of methods its method.
  if (point?.arms && flags.arms === undefined) config.arms = point.arms;
  if (point?.method && flags.method === undefined) config.method = point.method;
  const armsProblem = methodAndArmsProblem(config);
  if (armsProblem) throw new UsageError(armsProblem);
  if (config.runId === '') config.runId = point?.runId ?? defaultRunId(config.alpha, config.seed, env, now);
  return config;
}

/**
 * The method must be an augmentation of the registry, and `--arms` one of the run's two arms. `none` is
 * the baseline's augmentation: a run of the baseline alone may name it (a sweep's baseline jobs do).
 */
function methodAndArmsProblem(config: Pick<RunConfig, 'method' | 'arms'>): string | null {
  const { method, arms } = config;
  if (method === NO_AUGMENTATION) {
    return arms === BASELINE_ARM ? null : `--method ${NO_AUGMENTATION} trains no augmented arm; it goes with --arms ${BASELINE_ARM} only`;
  }
  if (!methodNames().includes(method)) return `--method '${method}': ${methodProblem()}`;
  if (arms !== BOTH_ARMS && arms !== BASELINE_ARM && arms !== method) {
    return `--arms '${arms}': must be ${BOTH_ARMS}, ${BASELINE_ARM} or ${method} (the --method's arm)`;
  }
  return null;
}

/**
 * Under AWS Batch the id must survive retries of one job (so a retry resumes), and the job id
 * does: array children are `<parent>:<index>`, hence the replacement of ':'.
 */
export function defaultRunId(alpha: number, seed: number, env: NodeJS.ProcessEnv, now: Date): string {
  const jobId = env.AWS_BATCH_JOB_ID;
  if (jobId) {
    const runId = jobId.replace(/[^A-Za-z0-9._-]/g, '-');
    // The same rule as --run-id: '..', '.' or an over-long id would put the run outside --out or fail on write.
    if (!RUN_ID_PATTERN.test(runId)) {
      throw new UsageError(
        `AWS_BATCH_JOB_ID ${JSON.stringify(jobId.length > 60 ? `${jobId.slice(0, 60)}…` : jobId)} cannot name the run: ` +
          `a run id must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit (':' becomes '-'); set --run-id`,
      );
    }
    return runId;
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  return `${stamp}-a${alpha}-s${seed}-${randomBytes(2).toString('hex')}`;
}
