/**
 * Processes: spawning detached children (own session, stdio to a log file, so they outlive the
 * spawner and a restarted dom0d re-adopts them), and facts about a pid from /proc.
 *
 * Liveness contract (shared/notes/machine.md): a process that has exited may stay a zombie for
 * seconds before init reaps it, and `kill(pid, 0)` succeeds on a zombie. "Alive" is therefore
 * "present and not a zombie" (`pidState`), never "signal 0 works"; a caller that owns a better
 * signal (a QMP socket closing) uses that instead. Never wait for a pid to vanish.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isErrno, monotonicMs, ToolstackError } from '../common/index.js';
import { parseCpuList } from './facts.js';
import { fileError } from './files.js';
import { writePidFile } from './pid-file.js';
import { shortageError, shortageOf } from './shortage.js';

/** Clock ticks in /proc are USER_HZ, which is 100 on every Linux ABI we run on. */
const NS_PER_TICK = 1e9 / 100;

export interface SpawnDetachedOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here (the child's own error messages land in it). */
  readonly logFile: string;
  /** Written (atomically) with the pid once spawned. */
  readonly pidFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** An open file the child reads as its stdin (else /dev/null); the caller still closes its own. */
  readonly stdin?: number;
  /** Open files the child gets as its descriptors 3, 4, ... in order; the caller still closes its own. */
  readonly fds?: readonly number[];
}

/** A child `spawnDetached` started. */
export interface DetachedChild {
  readonly pid: number;
  /**
   * Signals it (SIGKILL by default) while it has not ended; false once it has. Never a process
   * that took its pid later: Node reaps its children at once, so a pid is free as soon as it ends.
   */
  kill(signal?: NodeJS.Signals): boolean;
}

/**
 * Starts `binary args` in a new session (setsid), stdin from /dev/null or `stdin`, stdout/stderr appended
 * to `logFile` (created 0600), not waited for by this process. Fails with code `IO` when the
 * binary cannot be started.
 */
export async function spawnDetached(options: SpawnDetachedOptions): Promise<DetachedChild> {
  let log: number;
  try {
    log = openSync(options.logFile, 'a', 0o600);
  } catch (e: unknown) {
    throw fileError('Opening', options.logFile, e);
  }
  try {
    const child = spawn(options.binary, options.args, {
      detached: true,
      stdio: [options.stdin ?? 'ignore', log, log, ...options.fds ?? []],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        const shortage = shortageOf(e);
        reject(shortage !== undefined ? shortageError(shortage, `Starting '${options.binary}'`, e) : new ToolstackError('IO', `Starting '${options.binary}' failed: ${e.message}`, { cause: e }));
      });
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    const kill = (signal: NodeJS.Signals = 'SIGKILL'): boolean => child.kill(signal);
    if (options.pidFile !== undefined) {
      try {
        writePidFile(options.pidFile, pid);
      } catch (e: unknown) {
        // Nobody would know its pid: a child left running holds its files (disk locks) unseen.
        kill();
        throw e;
      }
    }
    return { pid, kill };
  } finally {
    closeSync(log);
  }
}

/**
 * Why the program at `path` (a hotplug script) cannot be run: `does not exist`, `is a directory,
 * not a file`, `is not executable`; undefined when it can (a directory passes execute access).
 */
export function executableProblem(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 'does not exist';
  }
  if (!st.isFile()) return st.isDirectory() ? 'is a directory, not a file' : 'is not a file';
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return 'is not executable';
  }
}

/** `running` (any live state: R, S, D, T, ...), `zombie` (exited, not yet reaped), `gone`. */
export type PidState = 'running' | 'zombie' | 'gone';

export function pidState(pid: number): PidState {
  const stat = procStat(pid);
  if (stat === undefined) return 'gone';
  // "PID (COMM) STATE ...": COMM may contain spaces and parentheses; the state follows the last ')'.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X' ? 'zombie' : 'running';
}

/** True while `pid` is stopped (SIGSTOP, a terminal's ^Z) or held by a debugger. */
export function isPidStopped(pid: number): boolean {
  const stat = procStat(pid);
  const state = stat?.charAt(stat.lastIndexOf(')') + 2);
  return state === 'T' || state === 't';
}

/** True while `pid` runs (present and not a zombie). */
export function isPidAlive(pid: number): boolean {
  return pidState(pid) === 'running';
}

/** `isPidAlive`, or `unknown` when /proc cannot tell now (no file descriptor left). */
export function pidAliveOr(pid: number, unknown: boolean): boolean {
  try {
    return isPidAlive(pid);
  } catch {
    return unknown;
  }
}

/**
 * Field 22 of /proc/PID/stat (when the process started, in clock ticks since boot): with the pid,
 * names one process for good. Undefined for a process that is gone or a zombie; throws when /proc
 * cannot be read (no file descriptor left), which says nothing of the process.
 */
export function processStartTime(pid: number): string | undefined {
  const stat = procStat(pid);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** The children of `pid` (every thread's, from /proc); none when it is gone. */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => (procFile(pid, `task/${tid}/children`) ?? '').split(' ').filter((w) => w !== '').map(Number));
}

/** The argv of a live process, or undefined when gone (or a zombie: its cmdline is empty). */
export function pidCmdline(pid: number): string[] | undefined {
  const raw = procFile(pid, 'cmdline');
  if (raw === undefined || raw === '') return undefined;
  return raw.replace(/\0$/, '').split('\0');
}

/** Sends `signal` to `pid` (a negative pid: its process group). False when there was no such process. */
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
 * Resolves true once `pid` is a zombie or gone (polling /proc every `intervalMs`), false at the
 * deadline. For a process whose QMP socket is not available; otherwise await its closing.
 */
export async function waitForPidExit(pid: number, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    if (pidState(pid) !== 'running') return true;
    if (monotonicMs() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** CPU time (user + system) of a process, ns; null when it is gone. */
export function processCpuTimeNs(pid: number): number | null {
  const stat = procStat(pid);
  return stat === undefined ? null : parseProcStatCpuNs(stat);
}

/** CPU time (user + system) of thread `tid` of process `pid` so far, ns; null when it is gone. */
export function threadCpuTimeNs(pid: number, tid: number): number | null {
  const stat = Number.isInteger(tid) && tid > 0 ? procFile(pid, `task/${tid}/stat`) : undefined;
  return stat === undefined ? null : parseProcStatCpuNs(stat);
}

/** /proc/PID/stat: fields after the `(comm)`; utime and stime are fields 14 and 15. */
export function parseProcStatCpuNs(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11] ?? 0) + Number(rest[12] ?? 0)) * NS_PER_TICK;
}

/** A thread as the kernel schedules it (/proc/PID/task/TID/stat and status). */
export interface ThreadSched {
  /** The state letter: `R` running or runnable, `S` sleeping, `D` in uninterruptible wait, ... */
  readonly state: string;
  /** The CPU it last ran on. */
  readonly cpu: number;
  /** CPU time (user + system) so far, ns. */
  readonly cpuTimeNs: number;
  /** Its hard affinity (`Cpus_allowed_list`): the CPUs it may run on; empty when not read. */
  readonly allowed: readonly number[];
}

/** Thread `tid` of process `pid` as the kernel schedules it; undefined when it is gone. */
export function threadSched(pid: number, tid: number): ThreadSched | undefined {
  const stat = Number.isInteger(tid) && tid > 0 ? procFile(pid, `task/${tid}/stat`) : undefined;
  const status = stat === undefined ? undefined : procFile(pid, `task/${tid}/status`);
  if (stat === undefined || status === undefined) return undefined;
  const allowed = /^Cpus_allowed_list:\s*(\S*)$/m.exec(status)?.[1] ?? '';
  return { ...parseThreadStat(stat), allowed: parseCpuList(allowed) };
}

/** /proc/.../stat: the state (field 3), the CPU last run on (field 39), utime + stime. */
export function parseThreadStat(text: string): Omit<ThreadSched, 'allowed'> {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', cpu: Number(rest[36] ?? 0), cpuTimeNs: parseProcStatCpuNs(text) };
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

function procStat(pid: number): string | undefined {
  return procFile(pid, 'stat');
}

/** /proc files are generated in memory: read synchronously (async round trips cost more). */
function procFile(pid: number, name: string): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ESRCH')) return undefined;
    throw e;
  }
}
