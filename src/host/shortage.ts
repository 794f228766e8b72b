/**
 * The host running out of something every request needs, as errors show it: file descriptors
 * for dom0d (EMFILE) or for the whole host (ENFILE), a process or thread (EAGAIN from fork: a
 * pids cgroup, `threads-max`), memory for a new process (ENOMEM). These pass when the host
 * recovers, and say nothing of the request: a request that meets one fails with one line naming
 * it (`HOST_RESOURCES`), not as a bug or as a fault of what it named (an image, a bridge).
 */
import { readFileSync } from 'node:fs';
import { ToolstackError } from '../common/index.js';
import { CommandFailed } from './command.js';

export type Shortage = 'EMFILE' | 'ENFILE' | 'EAGAIN' | 'ENOMEM';

const SHORTAGES: ReadonlySet<string> = new Set<Shortage>(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/** The shortage `e` (or an error it was caused by) reports, if any. */
export function shortageOf(e: unknown): Shortage | undefined {
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    const code = cur instanceof CommandFailed ? cur.spawnError : (cur as NodeJS.ErrnoException).code;
    if (code !== undefined && SHORTAGES.has(code)) return code as Shortage;
  }
  return undefined;
}

/** One line for a request `what` that failed with `cause`, which reports `shortage`. */
export function shortageError(shortage: Shortage, what: string, cause: unknown): ToolstackError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const hint: Record<Shortage, string> = {
    EMFILE: `dom0d has open all the files its limit allows (${openFilesLimit() ?? 'see /proc/<pid>/limits'}; a domain takes about 8): raise it (prlimit --nofile, or ulimit -n before dom0d starts)`,
    ENFILE: 'the host has open all the files it allows (fs.file-max): close some, or raise it',
    EAGAIN: 'no process could be started (a pids cgroup limit, kernel.threads-max or pid_max reached): retry once processes have ended',
    ENOMEM: 'the host is short of memory: retry once some is free',
  };
  const short: Record<Shortage, string> = {
    EMFILE: 'dom0d has no file descriptor left',
    ENFILE: 'the host has no file descriptor left',
    EAGAIN: 'the host could not start a process',
    ENOMEM: 'the host is out of memory',
  };
  return new ToolstackError('HOST_RESOURCES', `${what} failed: ${short[shortage]} (${detail})`, { hint: hint[shortage], cause });
}

let lastLimit: string | undefined;

/**
 * This process's soft limit of open files, as /proc tells it; with no descriptor left to read it,
 * the last one read (dom0d reads it as it starts).
 */
export function openFilesLimit(): string | undefined {
  try {
    lastLimit = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? lastLimit;
  } catch {
    // no descriptor to read it with: the last one read
  }
  return lastLimit;
}
