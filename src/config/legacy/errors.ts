import { ToolstackError } from '../../common/index.js';

export const LEGACY_HINT =
  'dom0 evaluates only the xm subset (assignments, import os/re, os.uname(), re.search/re.match, if/elif/else, + and % on strings); rewrite the rest in xl.cfg syntax';

/** The one error a legacy config outside the supported subset gets: where, and what. */
export function legacyError(source: string, line: number, message: string): ToolstackError {
  const text = `${source}:${line}: legacy config error: ${message}`;
  return new ToolstackError('CFG_LEGACY', text, { lines: [text], hint: LEGACY_HINT, pos: { file: source, line } });
}

/** What the steps of one evaluation share: the file errors name, and the legacy constructs met (for the warning). */
export interface EvalContext {
  readonly source: string;
  readonly constructs: Set<string>;
}

/** Ends the evaluation with `legacyError` at `line`. */
export function fail(ctx: EvalContext, line: number, message: string): never {
  throw legacyError(ctx.source, line, message);
}
