#!/usr/bin/env node
/**
 * The user's CLI (`npx mixup`, bin/mixup.js): the job's `run` plus the commands that drive it from
 * this machine — seed-data, sweep, results and doctor.
 */
import type { Command } from 'commander';

import { createProgram, isEntry, registerRunCommand, runProgram } from '../job/cli.js';
import { registerDoctorCommand } from './doctor/command.js';
import { registerResultsCommand } from './results/command.js';
import { registerSeedDataCommand } from './seed-data.js';
import { registerSweepCommand } from './sweep/command.js';

export function buildProgram(): Command {
  const program = createProgram(
    'MixUp vs baseline on Fashion-MNIST, locally or as AWS Batch GPU jobs; sweep α and read the results.',
  );
  registerRunCommand(program);
  registerSeedDataCommand(program);
  registerSweepCommand(program);
  registerResultsCommand(program);
  registerDoctorCommand(program);
  return program;
}

export function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram(), argv);
}

if (isEntry(import.meta.url)) process.exitCode = await main();
