import { BugError, terminalSafe, toJson, ToolstackError } from '../common/index.js';
import type { CommandContext, CommandSpec } from './command.js';
import { FailureOnStdout } from './command.js';
import { lookupCommand } from './command-table.js';
import { helpRequested } from './getopt.js';
import { commandHelp, fullHelp } from './help.js';

/** What `xl` gets from its process. `stdin` is read only by commands that use it (a getter may defer it). */
export type XlIo = Pick<CommandContext, 'stdin' | 'stdout' | 'stderr' | 'env' | 'cwd'>;

/** The global options, and the command they lead to with its arguments. */
interface Invocation {
  readonly cmd: CommandSpec;
  readonly args: readonly string[];
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly verbose: number;
  /** Global `-t`. */
  readonly progress: boolean;
}

/**
 * `xl [-v...] [-N] [-f] [-t] [-T] [--json] <subcommand> [args]`. Global options stop at the first
 * non-option (Xen's `+vftTN`); `--json` is ours and may stand anywhere before a `--`. Returns the exit status.
 *
 * Output contract: stdout carries the command's result (Xen's text, or with `--json` the
 * result's JSON); a failure prints Xen's lines (and a `hint:` line) on stderr and exits with
 * Xen's status (1 where Xen has none, 2 for usage). With `--json` every failure, those found
 * before any command runs included, prints exactly one `{"error": {code, message, hint?}}` on
 * stdout; text Xen prints on stdout with a failure (a command's help) then goes to stderr.
 */
export async function xlMain(argv: readonly string[], io: XlIo): Promise<number> {
  const { json, rest } = takeJsonOption(argv);
  let inv: Invocation | undefined;
  try {
    inv = parseInvocation(rest);
    const cmd = inv.cmd;
    if (cmd.helpIsArgument !== true && helpRequested(inv.args)) {
      // Xen prints the command's help on -h/--help and exits 0 (before any other parsing).
      io.stdout.write(commandHelp(cmd));
      return 0;
    }
    const ctx: CommandContext = {
      get stdin() {
        return io.stdin;
      },
      stdout: io.stdout,
      stderr: io.stderr,
      env: io.env,
      cwd: io.cwd,
      dryRun: inv.dryRun,
      force: inv.force,
      verbose: inv.verbose,
      progress: inv.progress || (io.stderr as Partial<NodeJS.WriteStream>).isTTY === true,
      json,
      warn: (line) => io.stderr.write(`${terminalSafe(line.endsWith('\n') ? line.slice(0, -1) : line)}\n`),
    };
    const impl = await cmd.load();
    const result = await impl.run(ctx, inv.args);
    if (result.data !== undefined) {
      // Text from configs, file names and guests may hold what a terminal acts on: escaped.
      if (json) io.stdout.write(`${toJson(result.data, 2)}\n`);
      else if (impl.render !== undefined) io.stdout.write(terminalSafe(impl.render(result.data), true));
    }
    return result.exitCode ?? 0;
  } catch (e: unknown) {
    return reportFailure(io, { json, verbose: inv?.verbose ?? 0, cmd: inv?.cmd }, e);
  }
}

/**
 * `--json` among xl's arguments, anywhere before a `--` (after it, an argument like any other: a
 * domain of that name), and the arguments without it.
 */
function takeJsonOption(argv: readonly string[]): { readonly json: boolean; readonly rest: readonly string[] } {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  return { json: argv.slice(0, end).includes('--json'), rest: argv.filter((a, i) => a !== '--json' || i > end) };
}

/** Reports `e`, a failure found before xl could read its arguments, as xlMain reports one; returns the exit status. */
export function reportEarlyFailure(argv: readonly string[], io: XlIo, e: ToolstackError): number {
  return reportFailure(io, { json: takeJsonOption(argv).json, verbose: 0, cmd: undefined }, e);
}

/** Parses the global options; the failures xl reports before it runs a command are thrown. */
function parseInvocation(argv: readonly string[]): Invocation {
  let dryRun = false;
  let force = false;
  let verbose = 0;
  let progress = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (const c of a.slice(1)) {
      if (c === 'v') verbose++;
      else if (c === 'N') dryRun = true;
      else if (c === 'f') force = true;
      else if (c === 't') progress = true;
      else if (c !== 'T') {
        throw new ToolstackError('USAGE', `Unknown global option '-${c}'`, { lines: ['unknown global option'] });
      }
    }
  }
  const name = argv[i];
  if (name === undefined) {
    throw new ToolstackError('USAGE', 'No subcommand given', { lines: fullHelp().slice(0, -1).split('\n') });
  }
  const cmd = lookupCommand(name);
  if (cmd === undefined) {
    throw new ToolstackError('COMMAND_NOT_IMPLEMENTED', `No xl subcommand '${name}'`, { lines: ['command not implemented'] });
  }
  if (dryRun && !cmd.canDryRun) {
    throw new ToolstackError('DRYRUN_UNSUPPORTED', `'xl ${cmd.name}' does not implement -N`, { lines: ['command does not implement -N (dryrun) option'] });
  }
  return { cmd, args: argv.slice(i + 1), dryRun, force, verbose, progress };
}

/** Prints a failure as `xlMain` promises; returns the exit status. */
function reportFailure(io: XlIo, o: { readonly json: boolean; readonly verbose: number; readonly cmd: CommandSpec | undefined }, e: unknown): number {
  const err = (s: string): void => {
    io.stderr.write(s);
  };
  if (!(e instanceof ToolstackError)) {
    const what = e instanceof BugError ? 'internal error (a bug in dom0)' : 'unexpected internal error (a bug in dom0)';
    const message = e instanceof Error ? e.message : String(e);
    const hint = 'run again with -v for the stack trace, and report it';
    if (o.json) io.stdout.write(`${toJson({ error: new ToolstackError('INTERNAL', message, { hint }).toJSON() }, 2)}\n`);
    err(`xl: ${what}: ${terminalSafe(message)}\n`);
    if (o.verbose > 0 && e instanceof Error && e.stack !== undefined) err(`${terminalSafe(e.stack, true)}\n`);
    else err(`hint: ${hint}\n`);
    return 1;
  }
  if (o.json) io.stdout.write(`${toJson({ error: e.toJSON() }, 2)}\n`);
  // Each line one line, whatever a config value, file name or QEMU's log put in it.
  if (e.lines !== undefined) for (const l of e.lines) err(`${terminalSafe(l)}\n`);
  else err(`${terminalSafe(e.message)}\n`);
  if (e.hint !== undefined) err(`hint: ${terminalSafe(e.hint)}\n`);
  let text = e instanceof FailureOnStdout ? e.stdout : '';
  if (e.code === 'USAGE_ARGS' && o.cmd !== undefined) text = commandHelp(o.cmd);
  if (text !== '') (o.json ? io.stderr : io.stdout).write(terminalSafe(text, true));
  return e.exitCode;
}
