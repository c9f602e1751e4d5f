/**
 * The augmentations: every file of job/augmentations/, found when this module loads. Each file's default
 * export is one `Augmentation` named as the file, so a new augmentation is a new file there (and its
 * tests) and nothing else: `mixup run --method`, `mixup sweep --methods`, the pictures and `results`
 * all ask this registry.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Augmentation } from './augmentation.js';
import { JobError, UsageError } from './errors.js';
import { BASELINE_ARM, METHOD_NAME_PATTERN, NO_AUGMENTATION, type RunConfig } from './shared/run-settings.js';

const FOLDER = fileURLToPath(new URL('./augmentations/', import.meta.url));
// Compiled, the folder holds .js (and .d.ts, .map); run from source through tsx, .ts.
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

async function load(): Promise<ReadonlyMap<string, Augmentation>> {
  const files = readdirSync(FOLDER).filter((file) => file.endsWith(EXTENSION) && !file.endsWith('.d.ts')).sort();
  const found = new Map<string, Augmentation>();
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(FOLDER, file)).href)) as { default?: Augmentation };
    const augmentation = module.default;
    const expected = path.basename(file, EXTENSION);
    // A file that breaks the rule is a bug in this package, found at start-up rather than mid-run.
    if (!augmentation || augmentation.name !== expected || !METHOD_NAME_PATTERN.test(expected) || typeof augmentation.combine !== 'function') {
      throw new JobError(`job/augmentations/${file} must default-export the augmentation named '${expected}' (lower-case letters, digits and '-')`);
    }
    found.set(expected, augmentation);
  }
  if (!found.has(NO_AUGMENTATION)) throw new JobError(`job/augmentations/ has no '${NO_AUGMENTATION}' (the baseline's augmentation)`);
  return found;
}

const REGISTRY = await load();

/** The methods a run can compare with the baseline: every augmentation but `none`, by name. */
export function methodNames(): string[] {
  return [...REGISTRY.keys()].filter((name) => name !== NO_AUGMENTATION);
}

/** The augmentation called `name`; a usage error naming `flag` and the choices when there is none. */
export function augmentation(name: string, flag = '--method'): Augmentation {
  const found = REGISTRY.get(name);
  if (!found) throw new UsageError(`${flag} '${name}': ${methodProblem()}`);
  return found;
}

/** Completes "--method 'x': …". */
export function methodProblem(): string {
  return `must be one of ${methodNames().join(', ')}`;
}

/** The augmentation of an arm: the baseline's is `none`, every other arm is named by its method. */
export function armAugmentation(arm: string): Augmentation | undefined {
  return REGISTRY.get(arm === BASELINE_ARM ? NO_AUGMENTATION : arm);
}

/** An arm as a run trains it: its name, its augmentation and that augmentation's parameters. Plain data, so it can go to a worker thread. */
export interface ArmSpec {
  readonly arm: string;
  readonly augmentation: string;
  readonly params: object;
}

/** The spec of one arm of `config` (`baseline` or the method's arm), its parameters read from the run's settings. */
export function armSpec(arm: string, config: RunConfig): ArmSpec {
  const name = arm === BASELINE_ARM ? NO_AUGMENTATION : arm;
  return { arm, augmentation: name, params: augmentation(name).params.parse(config) };
}
