import type { Readable, Writable } from 'node:stream';
import { ToolstackError } from '../common/index.js';
import type { ErrorCode, ToolstackErrorOptions } from '../common/index.js';

/** What every command handler gets: the global options and the process's streams. */
export interface CommandContext {
  /** Global `-N`: only commands with `canDryRun` see it true. */
  readonly dryRun: boolean;
  /** Global `-f`. */
  readonly force: boolean;
  /** Count of global `-v`. */
  readonly verbose: number;
  /** Progress lines on stderr, each overwriting the last (CR): global `-t`, or stderr is a terminal. */
  readonly progress?: boolean;
  /** `--json`: the CLI prints `data` as JSON instead of calling `render`. */
  readonly json: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** A warning line for stderr (kept out of `--json` stdout). */
  warn(line: string): void;
}

/** What a handler returns: data, and how it ended. The CLI prints it (text or JSON). */
export interface CommandResult<T = unknown> {
  readonly data?: T;
  /** Exit status; 0 when absent. */
  readonly exitCode?: number;
}

/** What a command module provides: the handler, and Xen's text rendering of its data. */
export interface CommandImpl<T = unknown> {
  run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult<T>>;
  /** Xen's text rendering of `data` (exactly what Xen prints to stdout). Absent: print nothing. */
  render?(data: T): string;
}

/**
 * One row of the command table (Xen's `cmd_spec`): `name`, `usage`, `summary` and `optionsHelp`
 * are the strings `xl help CMD` prints; `canDryRun`/`modifies` are Xen's `can_dryrun`/`modifies`
 * flags; `load` brings in the command's module, only when the command runs.
 */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly optionsHelp?: string;
  readonly canDryRun: boolean;
  readonly modifies: boolean;
  /**
   * Xen's handler parses its arguments without `SWITCH_FOREACH_OPT` (or prints before it), so
   * `-h`/`--help` reach it as arguments: the CLI then leaves them to the command.
   */
  readonly helpIsArgument?: boolean;
  load(): Promise<CommandImpl>;
}

/** Erases a command's data type for the table. */
export function defineCommand<T>(impl: CommandImpl<T>): CommandImpl {
  return impl;
}

/**
 * A failure whose Xen text goes to stdout (`xl help NOSUCH`'s `command "NOSUCH" not implemented`).
 * The CLI prints `stdout` there after the error's stderr lines; with `--json` it prints the error
 * as the JSON object and `stdout` on stderr.
 */
export class FailureOnStdout extends ToolstackError {
  override readonly name: string = 'FailureOnStdout';
  readonly stdout: string;

  constructor(code: ErrorCode, message: string, stdout: string, options: ToolstackErrorOptions = {}) {
    super(code, message, options);
    this.stdout = stdout;
  }
}
