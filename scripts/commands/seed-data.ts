/** `mixup seed-data`: flags to options; the copy itself (scripts/seed-data/) loads when the command runs. */
import type { Command } from 'commander';

/** Adds `mixup seed-data` to the CLI. */
export function register(program: Command): Command {
  return program
    .command('seed-data')
    .description('upload the four Fashion-MNIST files to S3 (or a directory), verifying checksums; skips files already there')
    .requiredOption('--to <uri>', 'destination: s3://bucket/prefix or a directory')
    .option('--from <location>', 'source: a directory or https:// base URL (default: as for `run --data`)')
    .action(async (flags: { to: string; from?: string }) => {
      const { seedData } = await import('../seed-data/seed-data.js');
      const report = await seedData({ to: flags.to, from: flags.from });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    });
}
