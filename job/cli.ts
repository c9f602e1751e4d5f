#!/usr/bin/env node
/**
 * The container's entry: `mixup run` only. The user's CLI (scripts/cli.ts) adds seed-data, sweep and
 * results on top of the same program and error handling, so the image needs none of their code.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError, Option } from 'commander';

import { runExperiment } from './commands/run.js';
import { envName, RUN_OPTIONS, type RunOptionName, resolveRunConfig } from './config.js';
import { JobError, UsageError } from './errors.js';
import { describeFsError } from './fs-errors.js';
import { ignoreClosedPipe } from './closed-pipe.js';
import { packageVersion } from './shared/package-root.js';

/** The shell's convention, 128 + the signal's number: what `kill` and Ctrl-C lead a caller to expect. */
const SIGNAL_EXIT = { SIGTERM: 143, SIGINT: 130 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT;

const REPORT_BUGS = 'this is a bug in mixup-batch; please report it with the stack above';

/** The `mixup` program with no commands: version, and usage errors in our one-line form. */
export function createProgram(description: string): Command {
  return new Command('mixup')
    .description(description)
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      // Commander's own usage errors, in the same one-line form as ours.
      outputError: (text, write) => write(`mixup: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    });
}

export function registerRunCommand(program: Command): Command {
  const run = program
    .command('run')
    .description('train the mixup and baseline arms from the same initial weights and write every artifact')
    .addHelpText(
      'after',
      `\nEvery option can also be set by an environment variable (the option wins), e.g. ${envName('alpha')}=0.4.` +
        `\nA run whose --run-id already has a checkpoint resumes; one with a manifest.json is complete and is left alone.`,
    );
  for (const name of Object.keys(RUN_OPTIONS) as RunOptionName[]) {
    const option = RUN_OPTIONS[name];
    const defaultNote = option.default === undefined ? '' : ` (default: ${option.default})`;
    run.addOption(new Option(`${option.flag} <value>`, `${option.help}${defaultNote} [${envName(name)}]`));
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

/** The one place errors meet users: one line and exit 2 (usage) or 1 (failure); stacks only for bugs. */
export async function runProgram(program: Command, argv: string[] = process.argv): Promise<number> {
  // The pinned SDK supports Node 20; its 7-line notice about releases after January 2027 would bury our one-line errors.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `mixup … | head`: a reader that has seen enough is no error; the rest of the output is dropped.
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError || error instanceof JobError) {
      process.stderr.write(`mixup: ${error.message}\n`);
      return error.exitCode;
    }
    const fsProblem = describeFsError(error);
    if (fsProblem) {
      process.stderr.write(`mixup: ${fsProblem}\n`);
      return 1;
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n${REPORT_BUGS}\n`);
    return 1;
  }
}

export function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram(), argv);
}

/** True when `moduleUrl` is the file Node was started with, so importing a CLI module runs nothing. */
export function isEntry(moduleUrl: string): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

if (isEntry(import.meta.url)) process.exitCode = await main();
