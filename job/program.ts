/**
 * The `mixup` program both entries share (the container's job/cli.ts and the user's scripts/cli.ts):
 * the version, usage errors in one line, and the one place errors meet users. Light on purpose: each
 * command imports what it runs when it runs, so `mixup --help` loads no TensorFlow.js and no SDK.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError } from 'commander';

import { ignoreClosedPipe } from './closed-pipe.js';
import { JobError, UsageError } from './errors.js';
import { describeFsError } from './fs-errors.js';
import { packageVersion } from './shared/package-root.js';

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
