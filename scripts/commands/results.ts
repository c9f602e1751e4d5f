/** `mixup results` on the command line; the reading and the pictures (scripts/results/) load when it runs. */
import { Command, Option } from 'commander';

import { DEFAULT_STACK_NAME } from '../../job/shared/stack.js';
import { DEFAULT_FORMAT, formatResults, RESULT_FORMATS, type ResultFormat } from '../results/format.js';
import type { ResultsDeps } from '../results/results.js';

interface ResultsFlags {
  sweep?: string;
  run?: string;
  results?: string;
  format: ResultFormat;
  plot?: string;
  report?: boolean;
  stackName: string;
}

/** Adds `mixup results` to the CLI. */
export function register(program: Command, deps?: () => ResultsDeps): Command {
  return program
    .command('results')
    .description("per method and α: the method's and the baseline's test accuracy (mean ± 95 % CI over seeds), their paired difference, run counts")
    .option('--sweep <id>', 'a sweep id (under <results>/sweeps/)')
    .option('--run <id>', 'a single run id (under <results>/runs/)')
    .option('--results <location>', "directory or s3://bucket/prefix (default: . when it holds the sweep/run, else the stack's results bucket)")
    .addOption(new Option('--format <format>', 'output format').choices(RESULT_FORMATS).default(DEFAULT_FORMAT))
    .option('--plot <file.png>', 'also draw accuracy against α, a line per method and the baseline, with error bars (a path or s3:// URI)')
    .option('--report', 'also write a self-contained report.html beside the sweep')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the results bucket', DEFAULT_STACK_NAME)
    .action(async (flags: ResultsFlags) => {
      const { results } = await import('../results/results.js');
      const summary = await results(flags, deps?.());
      process.stdout.write(`${formatResults(summary, flags.format)}\n`);
      if (flags.format !== 'json') {
        if (summary.plot) process.stderr.write(`plot: ${summary.plot}\n`);
        if (summary.report) process.stderr.write(`report: ${summary.report}\n`);
      }
    });
}
