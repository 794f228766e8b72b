import { connectToolstack, openConsole } from '../../api/index.js';
import type { ConsoleAttachment, ConsoleAttachRequest } from '../../api/index.js';
import { ToolstackError, usageError } from '../../common/index.js';
import type { CommandContext } from '../command.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';
import { runViewer, vncView } from './vncviewer.js';

/** xenconsole's default escape: Ctrl-]. */
export const DEFAULT_ESCAPE = 0x1d;

/** After stdin's end (not a terminal), output is still copied until the console is quiet this long... */
const EOF_QUIET_MS = 500;
/** ...or at most this long. */
const EOF_MAX_MS = 5000;

/** Signals that end a session (the terminal restored) instead of killing xl outright. */
const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;

/** How an attached session ended. */
export type ConsoleEnd = 'escape' | 'eof' | 'closed';

/**
 * `-e ESC` as xenconsole reads it: `^X` is Ctrl-X (`X & 0x1f`), a single character is itself;
 * anything else is a usage error.
 */
export function parseEscape(arg: string): number {
  if (arg.length === 2 && arg[0] === '^') return arg.charCodeAt(1) & 0x1f;
  if (arg.length === 1) return arg.charCodeAt(0);
  throw usageError('Invalid escape argument', "give one character, or ^ and a letter (e.g. -e '^a' for Ctrl-A)");
}

/**
 * Attaches this process's stdin/stdout to a domain's console until the escape character, the
 * console's end (domain destroyed), or stdin's end. On a terminal, stdin is put in raw mode
 * (restored on every way out) and, as in xenconsole, the escape acts only when it arrives alone
 * (a paste containing it is typed). From a pipe, bytes are forwarded as they come; an escape byte
 * anywhere ends the session (what precedes it is sent), and at the end of the input the session
 * ends once the guest's output has been quiet for 0.5 s (at most 5 s), so a piped command's
 * answer is still shown.
 */
export async function runConsoleSession(ctx: CommandContext, req: ConsoleAttachRequest, escape: number): Promise<ConsoleEnd> {
  const { socket } = await openConsole(ctx, req);
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (tty) stdin.setRawMode(true);
  return new Promise<ConsoleEnd>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    let cap: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (how: ConsoleEnd): void => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      clearTimeout(cap);
      stdin.off('data', onInput);
      stdin.off('end', onEof);
      ctx.stdout.off('error', onClosed);
      for (const sig of SIGNALS) process.off(sig, onClosed);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      // A paused pipe or terminal still holds the event loop: let xl exit.
      if (typeof stdin.unref === 'function') stdin.unref();
      socket.destroy();
      resolve(how);
    };
    const onInput = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (tty) {
        if (b.length === 1 && b[0] === escape) finish('escape');
        else socket.write(b);
        return;
      }
      const at = b.indexOf(escape);
      if (at < 0) {
        socket.write(b);
        return;
      }
      if (at > 0) socket.write(b.subarray(0, at));
      finish('escape');
    };
    const armQuiet = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish('eof'), EOF_QUIET_MS);
    };
    const onEof = (): void => {
      armQuiet();
      socket.on('data', armQuiet);
      cap = setTimeout(() => finish('eof'), EOF_MAX_MS);
    };
    // Whatever else ends the session (the reader of stdout gone, xl killed) restores the terminal.
    const onClosed = (): void => finish('closed');
    ctx.stdout.on('error', onClosed);
    for (const sig of SIGNALS) process.once(sig, onClosed);
    socket.on('data', (d: Buffer) => ctx.stdout.write(d));
    socket.on('close', onClosed);
    socket.on('error', onClosed);
    stdin.on('data', onInput);
    stdin.on('end', onEof);
    stdin.resume();
    socket.resume();
  });
}

/**
 * `xl create -V/-A/-c` once the domain exists: starts a VNC viewer in the background (a warning
 * when none can run: the domain stays), then attaches the primary console in the foreground.
 * The console was connected in dom0d before the guest ran, so the session starts with the
 * guest's first byte (replayed).
 */
export async function attachAfterCreate(ctx: CommandContext, ref: string, what: { vnc: boolean; autopass: boolean; console: boolean }): Promise<void> {
  if (what.vnc) {
    try {
      await runViewer(ctx, await vncView(ctx, ref, what.autopass), false);
    } catch (e: unknown) {
      if (!(e instanceof ToolstackError)) throw e;
      ctx.warn(`${e.message}${e.hint === undefined ? '' : ` (${e.hint})`}`);
    }
  }
  if (what.console) await runConsoleSession(ctx, { ref }, DEFAULT_ESCAPE);
}

/**
 * `xl console [-t pv|serial|vuart] [-n NUM] [-e ESC] <Domain>`: attaches to the domain's
 * console through dom0d (the primary one by default: HVM serial 0, PV/PVH pv 0), replaying what
 * it printed before. Ctrl-] (or ESC) detaches, leaving the guest running. `--json` prints the
 * console's `ConsoleAttachment` (the API's answer) without attaching.
 */
export const consoleCommand = defineCommand<ConsoleAttachment | { readonly ended: ConsoleEnd }>({
  async run(ctx, args) {
    const o = getopt(args, 'n:t:e:');
    requireArgs('console', o.positional, 1);
    const dom = o.positional[0] as string;
    const t = o.value('t');
    if (t !== undefined && t !== 'pv' && t !== 'serial' && t !== 'vuart') {
      throw new ToolstackError('USAGE', `console type supported are: pv, serial, vuart (not '${t}')`, { lines: ['console type supported are: pv, serial, vuart'] });
    }
    const n = o.value('n');
    const num = n === undefined ? undefined : Number.parseInt(n, 10);
    if (num !== undefined && (!Number.isInteger(num) || num < 0)) throw usageError(`Invalid console number '${n ?? ''}'`, 'give -n 0, 1, ...');
    const escapeArg = o.value('e');
    const escape = escapeArg === undefined ? DEFAULT_ESCAPE : parseEscape(escapeArg);
    const req: ConsoleAttachRequest = {
      ref: dom,
      ...(t === undefined ? {} : { type: t, num: num ?? 0 }),
    };
    if (ctx.json) return { data: await connectToolstack(ctx).attachConsole(req) };
    return { data: { ended: await runConsoleSession(ctx, req, escape) } };
  },
});
