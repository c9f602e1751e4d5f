import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { z } from 'zod';

import { resolveRunConfig } from '../../job/config.js';
import { buildProgram } from '../../job/cli.js';
import { settingsOf } from '../../job/run-identity.js';
import {
  envName,
  FORWARDED_SETTINGS,
  IDENTITY_SETTINGS,
  RUN_SETTINGS,
  runConfigSchema,
  type RunSetting,
  type RunSettingName,
} from '../../job/shared/run-settings.js';

const names = Object.keys(RUN_SETTINGS) as RunSettingName[];

describe('the settings table drives every list of run settings', () => {
  test('every setting is a flag of `mixup run`, named in its help with its variable', () => {
    const run = buildProgram().commands.find((command) => command.name() === 'run')!;
    for (const name of names) {
      const option = run.options.find((o) => o.long === RUN_SETTINGS[name].flag);
      assert.ok(option, `${RUN_SETTINGS[name].flag} is a flag of mixup run`);
      assert.match(option.description, new RegExp(`\\[${envName(name)}\\]`));
    }
  });

  test('every setting is read from its variable and lands in the config, which the stored schema reads back', () => {
    const config = resolveRunConfig({ runId: 'r' }, { MIXUP_EPOCHS: '3', MIXUP_TRAIN_LIMIT: '9', MIXUP_DATA: '/d' });
    assert.deepEqual(Object.keys(config).sort(), [...names].sort());
    assert.deepEqual(runConfigSchema.parse(JSON.parse(JSON.stringify(config))), config);
  });

  test("run.json's settings are the identity settings and the resolved data location", () => {
    const config = resolveRunConfig({ runId: 'r' }, {});
    assert.deepEqual(Object.keys(settingsOf(config, '/resolved')).sort(), [...IDENTITY_SETTINGS, 'data'].sort());
    assert.equal(settingsOf(config, '/resolved').data, '/resolved');
  });

  test('identity and pass-through are answered for every setting', () => {
    for (const name of names) {
      assert.ok([true, false, 'resolved'].includes(RUN_SETTINGS[name].identity), name);
      assert.ok(['forwarded', 'grid', 'sweep'].includes(RUN_SETTINGS[name].sweep), name);
    }
    assert.deepEqual([...FORWARDED_SETTINGS].sort(), names.filter((name) => RUN_SETTINGS[name].sweep === 'forwarded').sort());
  });

  test('an entry that leaves out its identity or its sweep role does not type-check', () => {
    const entry = { flag: '--colour', help: 'h', default: 'red', parse: z.string(), stored: z.string() } as const;
    // @ts-expect-error — `identity` and `sweep` are required: a setting must say whether it is part of a run's identity and what a sweep does with it.
    const setting: RunSetting<string> = entry;
    assert.equal(setting.flag, '--colour');
  });
});
