import { BugError, ToolstackError } from '../common/index.js';
import type { CommandContext } from './command.js';
import { lookupCommand } from './command-table.js';
import { commandHelp, fullHelp } from './commands/help.js';

/**
 * `xl [-v...] [-N] [-f] [-t] [-T] [--json] <subcommand> [args]`. Global options stop at the first
 * non-option (Xen's `+vftTN`); `--json` is ours and may also appear among a command's arguments.
 * Returns the exit status.
 */
export async function xlMain(argv: readonly string[], io: Pick<CommandContext, 'stdin' | 'stdout' | 'stderr' | 'env' | 'cwd'>): Promise<number> {
  const err = (s: string): void => {
    io.stderr.write(s);
  };
  let json = false;
  let verbose = 0;
  let dryRun = false;
  let force = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--json') {
      json = true;
      continue;
    }
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (const c of a.slice(1)) {
      if (c === 'v') verbose++;
      else if (c === 'N') dryRun = true;
      else if (c === 'f') force = true;
      else if (c === 't' || c === 'T') continue;
      else {
        err('unknown global option\n');
        return 1;
      }
    }
  }
  const name = argv[i];
  if (name === undefined) {
    err(fullHelp());
    return 1;
  }
  const cmd = lookupCommand(name);
  if (cmd === undefined) {
    err('command not implemented\n');
    return 1;
  }
  let args = argv.slice(i + 1);
  if (args.includes('--json')) {
    json = true;
    args = args.filter((a) => a !== '--json');
  }
  if (dryRun && !cmd.canDryRun) {
    err('command does not implement -N (dryrun) option\n');
    return 1;
  }
  if (args.includes('-h') || args.includes('--help')) {
    // Xen prints the command's help on -h/--help and exits 0 (before any other parsing).
    const h = getoptHelpRequested(args);
    if (h) {
      io.stdout.write(commandHelp(cmd));
      return 0;
    }
  }
  const ctx: CommandContext = {
    ...io,
    dryRun,
    force,
    verbose,
    json,
    warn: (line) => err(line.endsWith('\n') ? line : `${line}\n`),
  };
  try {
    const impl = await cmd.load();
    const result = await impl.run(ctx, args);
    if (result.data !== undefined) {
      if (json) io.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
      else if (impl.render !== undefined) io.stdout.write(impl.render(result.data));
    }
    return result.exitCode ?? 0;
  } catch (e: unknown) {
    if (e instanceof ToolstackError) {
      if (json) io.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
      if (e.lines !== undefined) for (const l of e.lines) err(`${l}\n`);
      else err(`${e.message}\n`);
      if (e.hint !== undefined) err(`hint: ${e.hint}\n`);
      if (e.code === 'USAGE_ARGS') io.stdout.write(commandHelp(cmd));
      return e.exitCode;
    }
    const what = e instanceof BugError ? 'internal error (a bug in dom0)' : 'unexpected internal error (a bug in dom0)';
    err(`xl: ${what}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (verbose > 0 && e instanceof Error && e.stack !== undefined) err(`${e.stack}\n`);
    else err('hint: run again with -v for the stack trace, and report it\n');
    return 1;
  }
}

/** True when -h/--help appears as an option (before `--`, not as a following option's value). */
function getoptHelpRequested(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}
