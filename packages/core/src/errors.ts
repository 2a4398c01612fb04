/**
 * One error type for everything Sous reports to a user: a stable
 * SCREAMING_SNAKE code, a message, hints ("Try this:"), and the exit code the
 * CLI uses (2 = usage or configuration error, 1 = runtime failure).
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface SousErrorOptions {
  hints?: string[];
  exit?: number;
  cause?: unknown;
  /** The file the problem was found in, when there is one. */
  file?: string;
  /** The field (a JSON pointer-like path such as `Deployments.prod.NumInstances`). */
  field?: string;
  details?: Record<string, unknown>;
}

export class SousError extends Error {
  readonly code: string;
  readonly hints: string[];
  readonly exit: number;
  readonly file?: string;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: SousErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SousError';
    this.code = code;
    this.hints = opts.hints ?? [];
    this.exit = opts.exit ?? EXIT_FAILURE;
    this.file = opts.file;
    this.field = opts.field;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.file ? { file: this.file } : {}),
      ...(this.field ? { field: this.field } : {}),
      ...(this.hints.length ? { hints: this.hints } : {}),
      ...(this.details ? { details: this.details } : {}),
      exit: this.exit,
    };
  }
}

/** A usage or configuration error: the user asked for something that cannot be. Exit 2. */
export function usageError(code: string, message: string, opts: Omit<SousErrorOptions, 'exit'> = {}): SousError {
  return new SousError(code, message, { ...opts, exit: EXIT_USAGE });
}

/** A runtime failure: the request was fine, the world did not cooperate. Exit 1. */
export function failure(code: string, message: string, opts: Omit<SousErrorOptions, 'exit'> = {}): SousError {
  return new SousError(code, message, { ...opts, exit: EXIT_FAILURE });
}

export function isSousError(e: unknown): e is SousError {
  return e instanceof SousError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'SousError');
}

/** Wraps anything thrown into a SousError, keeping an existing one as it is. */
export function toSousError(e: unknown, code = 'INTERNAL_ERROR'): SousError {
  if (isSousError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SousError(code, message, { cause: e });
}
