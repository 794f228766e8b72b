import type { ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';
export { ERROR_CODES } from './error-codes.js';

/** Where in a file something was found: 1-based line (and column when known). */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
}

export interface ToolstackErrorOptions {
  /** One line telling the user what to do about it. */
  readonly hint?: string;
  readonly cause?: unknown;
  /** Process exit status when this error ends an `xl` command: 1 by default, 2 for usage. */
  readonly exitCode?: number;
  /**
   * Lines to print verbatim instead of `xl: <message>`, for errors whose shape Xen fixes
   * (e.g. `FILE:LINE: config parsing error near ...`). The hint still follows them.
   */
  readonly lines?: readonly string[];
  readonly pos?: SourcePos;
}

/**
 * An error a user can cause and act on (bad config, missing file, no such domain). It carries a
 * stable `code` from the registry in `error-codes.ts`. Messages: sentence case, no final period,
 * values quoted, the failed action first, then a colon and the detail.
 */
export class ToolstackError extends Error {
  override readonly name: string = 'ToolstackError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly lines: readonly string[] | undefined;
  readonly pos: SourcePos | undefined;

  constructor(code: ErrorCode, message: string, options: ToolstackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.lines = options.lines;
    this.pos = options.pos;
  }

  /** The JSON shape `xl --json` prints and the API returns. */
  toJSON(): { code: ErrorCode; message: string; hint?: string; pos?: SourcePos } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.pos === undefined ? {} : { pos: this.pos }),
    };
  }
}

/** A usage error: printed with the command's help, exit status 2. */
export function usageError(message: string, hint?: string): ToolstackError {
  return new ToolstackError('USAGE', message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
}

/** A programmer error: an invariant broke. Never shown as a user error; reported as a bug. */
export class BugError extends Error {
  override readonly name: string = 'BugError';
}

export function isToolstackError(e: unknown, code?: ErrorCode): e is ToolstackError {
  return e instanceof ToolstackError && (code === undefined || e.code === code);
}

/**
 * Narrows an unknown caught value to a Node system error with `code` (ENOENT, ...): not one of
 * ours (a ToolstackError's code is a string too) nor Node's own argument errors (`ERR_*` codes).
 */
export function isErrno(e: unknown, code?: string): e is NodeJS.ErrnoException {
  if (!(e instanceof Error) || e instanceof ToolstackError) return false;
  const c = (e as NodeJS.ErrnoException).code;
  return typeof c === 'string' && !c.startsWith('ERR_') && (code === undefined || c === code);
}
