/**
 * One error path for users: commands throw these, `job/cli.ts` catches them once and exits.
 * Anything else is an internal error and prints its stack.
 */

/** Bad usage: a flag, variable or grid the user can fix. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user can act on (missing object, wrong checksum, storage down). Exit code 1. */
export class JobError extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobError';
  }
}

/** A missing object or file, named by its full URI. */
export class NotFoundError extends JobError {
  constructor(readonly uri: string) {
    super(`not found: ${uri}`);
    this.name = 'NotFoundError';
  }
}

/** The run was asked to stop (SIGTERM, SIGINT) before it could finish what it was doing. */
export class InterruptedError extends JobError {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}
