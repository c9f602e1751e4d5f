/**
 * `node --import ./test/support/import-trace.mjs …`: appends the URL of every module the process
 * resolves to the file named by MIXUP_IMPORT_TRACE, so a test can see what a command loaded.
 */
import { register } from 'node:module';

register('./import-trace-hooks.mjs', import.meta.url);
