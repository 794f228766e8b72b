import type { Socket } from 'node:net';
import { daemonAnswers, openConsole } from '../api/index.js';
import type { ConsoleAttachRequest } from '../api/index.js';
import { ToolstackError, usageError } from '../common/index.js';
import type { CommandContext } from './command.js';
import { interruptedError, stopSignals } from './interrupt.js';

/** xenconsole's default escape: Ctrl-]. */
export const DEFAULT_ESCAPE = 0x1d;

/** After stdin's end (not a terminal), output is still copied until the console is quiet this long... */
const EOF_QUIET_MS = 500;
/** ...or at most this long. */
const EOF_MAX_MS = 5000;


/** How an attached session ended: dom0d ended the stream (`hangup`: the domain went), or xl did. */
export type ConsoleEnd = 'escape' | 'eof' | 'closed' | 'hangup';

/** A session a stop signal ended, after the terminal was restored (`-F` then stops waiting too). */
function interrupted(signal: string): ToolstackError {
  return interruptedError(signal, 'the domain runs on: xl console attaches again');
}

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
 * console's end (domain destroyed; a dom0d that stopped instead is one DAEMON_UNAVAILABLE line,
 * exit 1), or stdin's end. On a terminal, stdin is put in raw mode
 * (restored on every way out) and, as in xenconsole, the escape acts only when it arrives alone
 * (a paste containing it is typed). From a pipe, bytes are forwarded as they come; an escape byte
 * anywhere ends the session (what precedes it is sent), and at the end of the input the session
 * ends once the guest's output has been quiet for 0.5 s (at most 5 s), so a piped command's
 * answer is still shown.
 */
export async function runConsoleSession(ctx: CommandContext, req: ConsoleAttachRequest, escape: number): Promise<ConsoleEnd> {
  const { attachment, socket } = await openConsole(ctx, req);
  const { end, signal } = await attached(ctx, socket, escape);
  if (signal !== undefined) throw interrupted(signal);
  // dom0d ends the stream when the domain goes (xenconsole's silent end); a dom0d that stopped
  // (killed, restarted) ends it too, and then the domain runs on: that is said.
  if (end === 'hangup' && !(await daemonAnswers(ctx))) {
    throw new ToolstackError('DAEMON_UNAVAILABLE', `Console of domain '${attachment.name}' lost: dom0d stopped`, {
      hint: `the domain runs on: xl console ${attachment.name} attaches again (any xl command starts dom0d)`,
    });
  }
  return end;
}

/** Puts a terminal's mode back; one hung up (EIO) has no mode left to restore. */
export function leaveRawMode(input: NodeJS.ReadStream): void {
  try {
    input.setRawMode(false);
  } catch {
    // gone with the terminal
  }
}

function attached(ctx: CommandContext, socket: Socket, escape: number): Promise<{ readonly end: ConsoleEnd; readonly signal?: string }> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (tty) stdin.setRawMode(true);
  // They end the session (the terminal restored) instead of killing xl outright; SIGQUIT too
  // (Node's default left the terminal raw).
  const signals: string[] = [...stopSignals(), 'SIGQUIT'];
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    let cap: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (how: ConsoleEnd, signal?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      clearTimeout(cap);
      stdin.off('data', onInput);
      stdin.off('end', onEof);
      ctx.stdout.off('error', onClosed);
      for (const sig of signals) process.off(sig, onSignal);
      process.off('SIGCONT', onContinue);
      if (tty) leaveRawMode(stdin);
      stdin.pause();
      // A paused pipe or terminal still holds the event loop: let xl exit.
      if (typeof stdin.unref === 'function') stdin.unref();
      socket.destroy();
      resolve(signal === undefined ? { end: how } : { end: how, signal });
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
    // Whatever else ends the session (the reader of stdout gone, the terminal hung up, xl
    // killed) restores the terminal.
    const onClosed = (): void => finish('closed');
    const onSignal = (sig: string): void => finish('closed', sig);
    // Stopped (kill -TSTP, -STOP) and continued (`fg`), xl finds the terminal as the shell left
    // it, in its own cooked mode: raw again (Node keeps the mode it set, so it is set anew).
    const onContinue = (): void => {
      if (!tty) return;
      leaveRawMode(stdin);
      try {
        stdin.setRawMode(true);
      } catch {
        // gone with the terminal
      }
    };
    process.on('SIGCONT', onContinue);
    ctx.stdout.on('error', onClosed);
    // A terminal that went away fails its reads (EIO): the session is over; later errors are nobody's.
    stdin.on('error', onClosed);
    for (const sig of signals) process.once(sig as NodeJS.Signals, onSignal);
    socket.on('data', (d: Buffer) => ctx.stdout.write(d));
    socket.on('close', () => finish('hangup'));
    socket.on('error', () => finish('hangup'));
    stdin.on('data', onInput);
    stdin.on('end', onEof);
    stdin.resume();
    socket.resume();
  });
}
