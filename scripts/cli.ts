#!/usr/bin/env node
/**
 * The user's CLI (`npx mixup`, bin/mixup.js): the job's `run` plus the commands that drive it from
 * this machine. Every command is one module of scripts/commands/ with the same shape — `register` adds
 * it to the program, and its action imports what it runs — so `mixup --help` loads none of them.
 */
import type { Command } from 'commander';

import { createProgram, isEntry, runProgram } from '../job/program.js';
import * as doctor from './commands/doctor.js';
import * as results from './commands/results.js';
import * as run from './commands/run.js';
import * as seedData from './commands/seed-data.js';
import * as sweep from './commands/sweep.js';

/** The commands, in the order `--help` lists them. */
export const COMMANDS: readonly { register(program: Command): Command }[] = [run, seedData, sweep, results, doctor];

export function buildProgram(): Command {
  const program = createProgram(
    'An augmentation (MixUp, CutMix) against a baseline on Fashion-MNIST, locally or as AWS Batch GPU jobs; sweep methods and α and read the results.',
  );
  for (const command of COMMANDS) command.register(program);
  return program;
}

export function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram(), argv);
}

if (isEntry(import.meta.url)) process.exitCode = await main();
