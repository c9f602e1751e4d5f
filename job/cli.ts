#!/usr/bin/env node
import { readFileSync } from 'node:fs';

import { Command, CommanderError, Option } from 'commander';

import { registerResultsCommand } from '../scripts/results.js';
import { seedData } from '../scripts/seed-data.js';
import { registerSweepCommand } from '../scripts/sweep.js';
import { runExperiment } from './commands/run.js';
import { envName, RUN_OPTIONS, type RunOptionName, resolveRunConfig } from './config.js';
import { JobError, UsageError } from './errors.js';
import { describeFsError } from './fs-errors.js';

const REPORT_BUGS = 'this is a bug in mixup-batch; please report it with the stack above';

/** From `job/cli.ts` (tsx) the package root is one level up; from `dist/job/cli.js`, two. */
function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mixup-batch' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('mixup')
    .description('MixUp vs baseline on Fashion-MNIST, locally or as AWS Batch GPU jobs; sweep α and read the results.')
    .version(version())
    .exitOverride()
    .configureOutput({
      // Commander's own usage errors, in the same one-line form as ours.
      outputError: (text, write) => write(`mixup: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    });

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
    const onTerm = () => {
      if (stopSignal.stopped) process.exit(143);
      // AWS Batch sends SIGTERM before SIGKILL: stop at the next step and write a checkpoint.
      stopSignal.stopped = true;
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onTerm);
    const result = await runExperiment(config, { stopSignal, discardCheckpoint: discardCheckpoint === true });
    if (result.status === 'interrupted') process.exitCode = 143;
  });

  program
    .command('seed-data')
    .description('upload the four Fashion-MNIST files to S3 (or a directory), verifying checksums; skips files already there')
    .requiredOption('--to <uri>', 'destination: s3://bucket/prefix or a directory')
    .option('--from <location>', 'source: a directory or https:// base URL (default: as for `run --data`)')
    .action(async (flags: { to: string; from?: string }) => {
      const report = await seedData({ to: flags.to, from: flags.from });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    });

  registerSweepCommand(program);
  registerResultsCommand(program);
  return program;
}

/** The one place errors meet users: one line and exit 2 (usage) or 1 (failure); stacks only for bugs. */
export async function main(argv: string[] = process.argv): Promise<number> {
  // The pinned SDK supports Node 20; its 7-line notice about releases after January 2027 would bury our one-line errors.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = buildProgram();
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

process.exitCode = await main();
