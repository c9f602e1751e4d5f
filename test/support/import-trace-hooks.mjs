/** Module hooks for import-trace.mjs: they run on the loader's thread, so each URL is written at once. */
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.MIXUP_IMPORT_TRACE) appendFileSync(process.env.MIXUP_IMPORT_TRACE, `${result.url}\n`);
  return result;
}
