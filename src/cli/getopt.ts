import { resolve } from 'node:path';
import { ToolstackError, usageError } from '../common/index.js';

/** One long option: `--name` or `--name=value` / `--name value` when it takes an argument. */
export interface LongOption {
  readonly name: string;
  readonly hasArg: boolean;
  /** The short option it stands for (as in getopt_long's `val`). */
  readonly short: string;
}

export interface ParsedOptions {
  /** Each option seen, in order, keyed by its short letter; value for those that take one. */
  readonly opts: ReadonlyArray<{ readonly opt: string; readonly value: string | undefined }>;
  readonly positional: readonly string[];
  has(opt: string): boolean;
  /** The last value given for `opt`, as getopt loops leave it. */
  value(opt: string): string | undefined;
  count(opt: string): number;
}

/**
 * GNU getopt_long as xl uses it: short options clustered (`-cp`), `-fFILE` or `-f FILE`,
 * long options by unambiguous prefix, arguments permuted (options may follow positionals)
 * unless `shortSpec` starts with `+`, and `--` ends the options. An unknown option is
 * Xen's `option `X' not supported.` usage error (exit 2).
 */
export function getopt(
  args: readonly string[],
  shortSpec: string,
  longOptions: readonly LongOption[] = [],
): ParsedOptions {
  const stopAtFirst = shortSpec.startsWith('+');
  const spec = stopAtFirst ? shortSpec.slice(1) : shortSpec;
  const takesArg = (c: string): boolean | undefined => {
    const i = spec.indexOf(c);
    if (i < 0 || c === ':') return undefined;
    return spec[i + 1] === ':';
  };
  const opts: Array<{ opt: string; value: string | undefined }> = [];
  const positional: string[] = [];
  let i = 0;
  while (i < args.length) {
    const a = args[i] as string;
    i++;
    if (a === '--') {
      positional.push(...args.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const exact = longOptions.find((o) => o.name === name);
      const matches = exact ? [exact] : longOptions.filter((o) => o.name.startsWith(name));
      const lo = matches.length === 1 ? matches[0] : undefined;
      if (lo === undefined) throw usageError(`option \`${a}' not supported.`);
      let value: string | undefined;
      if (lo.hasArg) {
        if (eq >= 0) value = a.slice(eq + 1);
        else if (i < args.length) value = args[i++];
        else throw usageError(`option \`--${lo.name}' requires an argument.`);
      } else if (eq >= 0) {
        throw usageError(`option \`--${lo.name}' doesn't allow an argument.`);
      }
      opts.push({ opt: lo.short, value });
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        const arg = takesArg(c);
        if (arg === undefined) throw usageError(`option \`${c}' not supported.`);
        if (!arg) {
          opts.push({ opt: c, value: undefined });
          continue;
        }
        let value: string;
        if (j + 1 < a.length) value = a.slice(j + 1);
        else if (i < args.length) value = args[i++] as string;
        else throw usageError(`option \`${c}' requires an argument.`);
        opts.push({ opt: c, value });
        break;
      }
      continue;
    }
    positional.push(a);
    if (stopAtFirst) {
      positional.push(...args.slice(i));
      break;
    }
  }
  return {
    opts,
    positional,
    has: (o) => opts.some((x) => x.opt === o),
    value: (o) => {
      for (let k = opts.length - 1; k >= 0; k--) if (opts[k]?.opt === o) return opts[k]?.value;
      return undefined;
    },
    count: (o) => opts.filter((x) => x.opt === o).length,
  };
}

/** True when -h/--help appears as an option (before `--`): Xen's SWITCH_FOREACH_OPT prints the help and exits 0. */
export function helpRequested(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}

/**
 * Xen's check that a command got at least `n` positional arguments: `'xl NAME' requires at least
 * N argument(s).` and a blank line on stderr, the command's help on stdout, exit 2.
 */
export function requireArgs(name: string, positional: readonly string[], n: number): void {
  if (positional.length >= n) return;
  const msg = `'xl ${name}' requires at least ${n} argument${n === 1 ? '' : 's'}.`;
  throw new ToolstackError('USAGE_ARGS', msg, { exitCode: 2, lines: [msg, ''] });
}

/**
 * A file argument as an absolute path (against xl's working directory `cwd`). An empty one names
 * no file, where resolving it named the working directory (`Cannot write save file '/root': it
 * is a directory`).
 */
export function fileArgument(cwd: string, file: string, what: string): string {
  if (file === '') throw new ToolstackError('IO', `${what}: an empty name names no file`, { hint: 'give the file\'s path, e.g. ./NAME' });
  return resolve(cwd, file);
}
