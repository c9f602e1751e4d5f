#!/usr/bin/env node
// The user's CLI, compiled; `npm ci` builds it through the `prepare` script. (The image runs
// dist/job/cli.js, the job alone.)
import { main } from '../dist/scripts/cli.js';

process.exitCode = await main();
