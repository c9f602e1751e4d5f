import type { z } from 'zod';

import { JobError } from '../errors.js';

/**
 * Parses a JSON document read back from storage with its schema. A damaged or foreign file is one
 * line naming the object and the first field that is wrong, never a TypeError further on.
 * `what` completes "<uri> is not …", e.g. 'a version 1 sweep record'.
 */
export function parseStoredJson<T>(uri: string, text: string, schema: z.ZodType<T>, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JobError(`${uri} is not valid JSON, so not ${what} (damaged or cut short?): ${(error as Error).message}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : 'top level';
    throw new JobError(`${uri} is not ${what}: ${field}: ${issue.message}`);
  }
  return result.data;
}
