#!/usr/bin/env node
/**
 * The container's entry: `mixup run` only. The user's CLI (scripts/cli.ts) adds seed-data, sweep and
 * results on top of the same program and error handling, so the image needs none of their code.
 */
import { type Command, Option } from 'commander';

import { methodNames } from './augmentation-registry.js';
import { resolveRunConfig } from './config.js';
import { createProgram, isEntry, runProgram } from './program.js';
import { envName, RUN_SETTINGS, type RunSettingName } from './shared/run-settings.js';

/** The shell's convention, 128 + the signal's number: what `kill` and Ctrl-C lead a caller to expect. */
const SIGNAL_EXIT = { SIGTERM: 143, SIGINT: 130 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT;

export function registerRunCommand(program: Command): Command {
  const run = program
    .command('run')
    .description('train the augmented arm (--method, default mixup) and the baseline from the same initial weights and write every artifact')
    .addHelpText(
      'after',
      `\nEvery option can also be set by an environment variable (the option wins), e.g. ${envName('alpha')}=0.4.` +
        `\nA run whose --run-id already has a checkpoint resumes; one with a manifest.json is complete and is left alone.`,
    );
  for (const name of Object.keys(RUN_SETTINGS) as RunSettingName[]) {
    const option = RUN_SETTINGS[name];
    const defaultNote = option.default === undefined ? '' : ` (default: ${option.default})`;
    // Which methods there are is the registry's answer, not the table's.
    const choices = name === 'method' ? `: ${methodNames().join('|')}` : '';
    run.addOption(new Option(`${option.flag} <value>`, `${option.help}${choices}${defaultNote} [${envName(name)}]`));
  }
  run.option('--discard-checkpoint', 'drop this run\'s checkpoint (e.g. a damaged one) and train it from scratch');
  run.action(async (allFlags: Record<string, string | boolean | undefined>) => {
    const { discardCheckpoint, ...flags } = allFlags;
    const config = resolveRunConfig(flags as Record<string, string | undefined>);
    const stopSignal = { stopped: false };
    // Aborts what cannot wait for a step boundary: a download, the data load.
    const abort = new AbortController();
    let stoppedBy: StopSignal | undefined;
    const onSignal = (signal: StopSignal) => {
      if (stoppedBy) {
        process.stderr.write(
          `mixup: ${signal} again: exiting at once, without a checkpoint; the run's lease.json is taken over by the next start on this host, else after it goes stale\n`,
        );
        process.exit(SIGNAL_EXIT[stoppedBy]);
      }
      // AWS Batch sends SIGTERM before SIGKILL: stop at the next step and write a checkpoint.
      stoppedBy = signal;
      stopSignal.stopped = true;
      abort.abort(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // TensorFlow.js loads here, when a run starts, not when the program is built.
    const { runExperiment } = await import('./commands/run.js');
    const result = await runExperiment(config, { stopSignal, abortSignal: abort.signal, discardCheckpoint: discardCheckpoint === true });
    if (result.status === 'interrupted') process.exitCode = SIGNAL_EXIT[stoppedBy ?? 'SIGTERM'];
  });
  return run;
}

export function buildProgram(): Command {
  const program = createProgram('MixUp vs baseline on Fashion-MNIST: the AWS Batch job (mixup run).');
  registerRunCommand(program);
  return program;
}

export function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram(), argv);
}

if (isEntry(import.meta.url)) process.exitCode = await main();
