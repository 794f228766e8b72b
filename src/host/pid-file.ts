/**
 * Pid files, also used as single-instance locks (`RUN_DIR/dom0d.pid`, the start lock of `xl`'s
 * autostart). A pid file this module writes holds `<pid> <start time>` (the start time from
 * /proc/PID/stat, in clock ticks since boot), so a holder is recognised exactly: a pid recycled
 * by an unrelated process, or a zombie, does not hold the file. Files written by others (QEMU's
 * `-pidfile`) hold just the pid and are read the same way. A lock taken on a full file system,
 * where the content cannot be written, is a symbolic link whose target is that content (a short
 * target takes no data block): it is read the same way.
 */
import { closeSync, lstatSync, openSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { isErrno, ToolstackError } from '../common/index.js';
import { processStartTime } from './process.js';

interface PidFileContent {
  readonly pid: number;
  readonly start: string | undefined;
}

/** The pid in a pid file, or undefined when the file is missing or holds no pid. */
export function readPidFile(path: string): number | undefined {
  return readContent(path)?.pid;
}

/** Writes `pid` (and its start time) to `path` atomically (temp file + rename). */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contentOf(pid), { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * The live process holding `path`: its pid when the file names a running process whose start
 * time matches (or was not recorded), else undefined (no file, a dead or recycled pid).
 */
export function pidFileHolder(path: string): number | undefined {
  const c = readContent(path);
  if (c === undefined) return undefined;
  const start = processStartTime(c.pid);
  if (start === undefined) return undefined;
  return c.start === undefined || c.start === start ? c.pid : undefined;
}

/**
 * Creates `path` exclusively with this process as holder. Returns undefined once taken, or the
 * pid of the live process that holds it. A file left by a dead (or recycled) holder is replaced.
 */
export function tryTakePidFile(path: string): number | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, contentOf(process.pid));
      } catch (e: unknown) {
        if (!isErrno(e, 'ENOSPC') && !isErrno(e, 'EDQUOT')) throw e;
        unlinkSync(path);
        symlinkSync(contentOf(process.pid).trim(), path);
      } finally {
        closeSync(fd);
      }
      return undefined;
    } catch (e: unknown) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
    notAPidFile(path);
    const holder = pidFileHolder(path);
    if (holder === process.pid) return undefined;
    if (holder !== undefined) return holder;
    // Created but not yet written by a starter that is still running: held.
    if (readContent(path) === undefined && recentlyCreated(path)) return -1;
    try {
      unlinkSync(path);
    } catch {
      // raced with another taker; try again
    }
  }
  return -1;
}

/** Throws when what is at `path` is no pid file (a directory, say): nobody holds it, nor can it be replaced. */
function notAPidFile(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // gone meanwhile: taken again
  }
  if (st.isFile() || st.isSymbolicLink()) return;
  throw new ToolstackError('IO', `${path} is ${st.isDirectory() ? 'a directory' : 'not a plain file'}, not a pid file`, {
    hint: `remove it (rm -r ${path}) if nothing of yours uses it`,
  });
}

/** Removes `path` if this process holds it. */
export function releasePidFile(path: string): void {
  if (readPidFile(path) !== process.pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function contentOf(pid: number): string {
  return `${pid} ${processStartTime(pid) ?? ''}`.trimEnd() + '\n';
}

function readContent(path: string): PidFileContent | undefined {
  let text: string;
  try {
    text = lstatSync(path).isSymbolicLink() ? readlinkSync(path, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) return undefined;
    throw e;
  }
  const [p, start] = text.trim().split(/\s+/);
  const pid = Number(p);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, start } : undefined;
}

/** A starter writes its pid right after the exclusive create; an empty file older than this is stale. */
const EMPTY_GRACE_MS = 5000;

function recentlyCreated(path: string): boolean {
  try {
    // A creation time ahead of the clock (set back since) is no sign of a starter at work.
    const age = Date.now() - statSync(path).mtimeMs;
    return age >= 0 && age < EMPTY_GRACE_MS;
  } catch {
    return false;
  }
}
