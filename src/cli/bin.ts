import { readFileSync } from 'node:fs';
import { refuseDebuggerSignal, restoreLaunchEnv, takeIgnoredSignals, ToolstackError } from '../common/index.js';
import { ignoreAtLaunch, stopSignalOfStatus } from './interrupt.js';
import { reportEarlyFailure, xlMain } from './main.js';
import type { XlIo } from './main.js';

restoreLaunchEnv(process.env);
refuseDebuggerSignal(process);
ignoreAtLaunch(takeIgnoredSignals(process.env));

// Standard output closed by its reader (`xl list | head -1`): xl ends silently, as a C program
// killed by SIGPIPE does (status 128 + 13); any other failure to write it (a full disk) is one
// line. A failing standard error has nowhere to be reported.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  process.stderr.write(`xl: cannot write standard output: ${e.message}\n`);
  process.exit(1);
});
process.stderr.on('error', () => undefined);

/**
 * The working directory; when it has been removed, the shell's name for it, or (dash exports an
 * empty PWD) a name no directory has that says why: relative paths then fail as missing, in one
 * line that names them. Always absolute (resolving against a relative one asks Node for the
 * working directory, which throws).
 */
function workingDirectory(): string {
  try {
    return process.cwd();
  } catch {
    const pwd = process.env['PWD'] ?? '';
    return pwd.startsWith('/') ? pwd : '/(working directory removed)';
  }
}

/**
 * xl's arguments; one that is not UTF-8 ends xl with one line. Node decodes the command line as
 * UTF-8, each invalid byte becoming U+FFFD: a file name of other bytes would name another file
 * (a save written over the file whose name has U+FFFD there), where Xen's xl opens the bytes it
 * is given. The bytes are the kernel's (/proc/self/cmdline: node, xl's script, then these).
 */
function utf8Arguments(): string[] | ToolstackError {
  const args = process.argv.slice(2);
  if (!args.some((a) => a.includes('\ufffd'))) return args;
  let raw: Buffer[] = [];
  try {
    const all = readFileSync('/proc/self/cmdline');
    for (let at = 0; at < all.length;) {
      const end = all.indexOf(0, at);
      raw.push(all.subarray(at, end < 0 ? all.length : end));
      at = end < 0 ? all.length : end + 1;
    }
    raw = raw.slice(raw.length - args.length);
  } catch {
    return args; // /proc unreadable: the arguments as Node has them
  }
  const bad = args.findIndex((a, i) => !Buffer.from(a).equals(raw[i] ?? Buffer.alloc(0)));
  if (bad >= 0) {
    const shown = [...(raw[bad] ?? [])].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
    const line = `xl: argument ${bad + 1} is not valid UTF-8: '${shown}'`;
    return new ToolstackError('USAGE', line, { lines: [line], exitCode: 2, hint: 'xl takes file names and values in UTF-8; rename the file' });
  }
  return args;
}

const io: XlIo = {
  // Node creates process.stdin on first use, a stream xl reads only in `console`.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: workingDirectory(),
};
const args = utf8Arguments();
// No top-level await: the bundle is CommonJS (scripts/build.mjs).
void (args instanceof ToolstackError ? Promise.resolve(reportEarlyFailure(process.argv.slice(2), io, args)) : xlMain(args, io)).then((status) => {
  process.exitCode = status;
  const signal = stopSignalOfStatus(status);
  if (signal === undefined) return;
  // A command a stop signal ended (once it undid what it had begun) ends by that signal, as a C
  // program left to the signal's default: its caller sees how it ended, and Node's own exit,
  // which resets a terminal that has hung up, aborts (EIO) with a native stack after SIGHUP. Its
  // listeners are gone by now (a listener left would keep it: then `exitCode` stands).
  let pending = 2;
  const last = (): void => {
    if (--pending === 0) process.kill(process.pid, signal);
  };
  process.stdout.write('', last);
  process.stderr.write('', last);
});

