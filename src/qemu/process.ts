/**
 * QEMU processes: spawned detached (own session, so they outlive dom0d and a dom0d restart
 * re-adopts them), stdio to a log file, a pid file; and facts about a pid from /proc.
 *
 * Liveness contract (see shared/notes/machine.md): a QEMU that has exited may stay a zombie for
 * seconds before init reaps it. "Gone" is therefore: the QMP socket closed, or the pid is absent
 * or a zombie (`Z` in /proc/PID/stat). Never wait for the pid to vanish.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ToolstackError, isErrno } from '../common/index.js';

export interface SpawnDetachedOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here (QEMU's own error messages land in it). */
  readonly logFile: string;
  /** Written (atomically) with the pid once spawned. */
  readonly pidFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Starts `binary args` in a new session (setsid), stdin from /dev/null, stdout/stderr appended
 * to `logFile`, not waited for by this process. Returns its pid. Fails with code `QEMU` when
 * the binary cannot be started.
 */
export async function spawnDetached(options: SpawnDetachedOptions): Promise<number> {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.binary, options.args, {
      detached: true,
      stdio: ['ignore', log, log],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(new ToolstackError('QEMU', `Starting '${options.binary}' failed: ${e.message}`, { cause: e })));
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);
    return pid;
  } finally {
    closeSync(log);
  }
}

export function writePidFile(path: string, pid: number): void {
  writeFileSync(`${path}.tmp`, `${pid}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The pid in a pid file, or undefined when the file is missing or holds no pid. */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** `running` (any live state: R, S, D, T, ...), `zombie` (exited, not yet reaped), `gone`. */
export type PidState = 'running' | 'zombie' | 'gone';

export function pidState(pid: number): PidState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ESRCH')) return 'gone';
    throw e;
  }
  // "PID (COMM) STATE ...": COMM may contain spaces and parentheses; the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X' ? 'zombie' : 'running';
}

/** True while `pid` runs (not a zombie, not gone). */
export function isPidAlive(pid: number): boolean {
  return pidState(pid) === 'running';
}

/** The argv of a live process, or undefined when gone (or a zombie: its cmdline is empty). */
export function pidCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ESRCH')) return undefined;
    throw e;
  }
}

/** Sends `signal` to `pid`. False when there was no such process. */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (e) {
    if (isErrno(e, 'ESRCH')) return false;
    throw e;
  }
}

/**
 * Resolves once `pid` is a zombie or gone (polling /proc every `intervalMs`), false at the
 * deadline. For a process whose QMP socket is not available; otherwise await its `closed`.
 */
export async function waitForPidExit(pid: number, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pidState(pid) !== 'running') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The last `lines` lines of a log file ('' when it is missing), to name a root cause. */
export function logTail(path: string, lines = 10): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return '';
    throw e;
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The error for a QEMU that exited before its socket `path` served: code `QEMU`, its log's tail. */
export function qemuExitedEarly(pid: number, path: string, logFile?: string): ToolstackError {
  return new ToolstackError('QEMU', `QEMU (pid ${pid}) exited before its socket '${path}' was ready${logWhy(logFile)}`);
}

function logWhy(logFile: string | undefined): string {
  const tail = logFile === undefined ? '' : logTail(logFile, 5);
  return tail === '' ? '' : `: ${tail.split('\n').join(' | ')}`;
}

/**
 * Waits until a Unix socket that `pid` is to create accepts connections. Fails with code `QEMU`
 * carrying the log tail when the process exits first (bad argv, missing file), or at the deadline.
 */
export async function waitForSocket(path: string, pid: number, options: { timeoutMs?: number; logFile?: string } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (pidState(pid) !== 'running') throw qemuExitedEarly(pid, path, options.logFile);
    if (socketExists(path) && await canConnect(path)) return;
    if (Date.now() >= deadline) {
      throw new ToolstackError('QEMU', `QEMU (pid ${pid}) did not open its socket '${path}' in time${logWhy(options.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function socketExists(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
