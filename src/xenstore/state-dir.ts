/**
 * The files of a xenstore state directory, and the primitives every writer of them uses:
 *   xenstored.pid             the lock: the pid of the xenstored using the directory
 *   snapshot                  "DOM0XSS1", uint32 epoch, then frames holding the whole state
 *   journal-<epoch>.log       "DOM0XSJ1", then the frames appended since snapshot <epoch>
 *   snapshot.tmp              a snapshot being written (removed at start)
 *   <name>.damaged-<time>     a damaged file that recovery kept aside (never read again)
 * Every write checks that all its bytes were written: a short write is a failure (ENOSPC).
 */
import { closeSync, fdatasyncSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno, ToolstackError } from '../common/index.js';
import { pidFileHolder, tryTakePidFile } from '../host/index.js';

export const SNAPSHOT = 'snapshot';
export const SNAPSHOT_TMP = 'snapshot.tmp';
export const SNAPSHOT_MAGIC = Buffer.from('DOM0XSS1', 'latin1');
/** Magic and epoch. */
export const SNAPSHOT_HEADER = 12;
export const JOURNAL_MAGIC = Buffer.from('DOM0XSJ1', 'latin1');
export const JOURNAL_FILE = /^journal-(\d+)\.log$/;

export function journalName(epoch: number): string {
  return `journal-${epoch}.log`;
}

/**
 * A state file could not be written (or synced). `errno` is what the requests that needed it
 * are refused with on the wire: ENOSPC for a full file system, quota or short write, else EIO.
 */
export class StateWriteError extends ToolstackError {
  override readonly name: string = 'StateWriteError';
  readonly errno: 'ENOSPC' | 'EIO' | 'E2BIG';
  constructor(action: string, path: string, cause: unknown) {
    const full = isErrno(cause) && (cause.code === 'ENOSPC' || cause.code === 'EDQUOT');
    const big = isErrno(cause, 'E2BIG');
    const reason = full ? 'no space left on device' : cause instanceof Error ? cause.message : String(cause);
    super('XS_JOURNAL', `${action} '${path}' failed: ${reason}`, {
      cause,
      hint: full ? 'free space on the file system that holds the xenstore state directory'
        : big ? 'make the change in smaller transactions' : 'check the file system that holds the xenstore state directory',
    });
    this.errno = full ? 'ENOSPC' : big ? 'E2BIG' : 'EIO';
  }
}

/** The failure a write of `wanted` bytes that wrote only `written` stands for. */
export function shortWrite(written: number, wanted: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`short write (${written} of ${wanted} bytes)`), { code: 'ENOSPC' });
}

/** Writes all of `buf` at `position` (undefined: the file position); throws on a short write. */
export function writeFully(fd: number, buf: Buffer, position?: number): void {
  const n = writeSync(fd, buf, 0, buf.length, position ?? null);
  if (n !== buf.length) throw shortWrite(n, buf.length);
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** Removes `path` if it exists. */
export function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

/**
 * Creates (or empties) `journal-<epoch>.log` holding only its header, synced when `sync`, and
 * returns it open for reading and writing. On failure nothing is left behind.
 */
export function createJournal(dir: string, epoch: number, sync: boolean): number {
  const path = join(dir, journalName(epoch));
  const fd = openSync(path, 'w+', 0o600);
  try {
    writeFully(fd, JOURNAL_MAGIC, 0);
    if (sync) fdatasyncSync(fd);
    return fd;
  } catch (e) {
    closeSync(fd);
    unlinkSync(path);
    throw new StateWriteError('Creating the xenstore journal', path, e);
  }
}

/**
 * Keeps the damaged file `name` aside under a new name (a hard link, so it takes no space; the
 * caller then replaces or removes `name`). Returns the new name.
 */
export function keepAside(dir: string, name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  for (let n = 0; ; n++) {
    const aside = `${name}.damaged-${stamp}${n === 0 ? '' : `-${n}`}`;
    try {
      linkSync(join(dir, name), join(dir, aside));
      return aside;
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
  }
}

/**
 * Claims `dir` through `xenstored.pid` (host/pid-file.ts: a file of a dead or recycled pid is
 * taken over; on a full file system the claim still succeeds). Returns its path.
 */
export function lockStateDir(dir: string): string {
  const file = join(dir, 'xenstored.pid');
  // This process's own claim is a second xenstored on one directory too.
  const holder = pidFileHolder(file) === process.pid ? process.pid : tryTakePidFile(file);
  if (holder === undefined) return file;
  if (holder > 0) {
    throw new ToolstackError('XS_STATE', `Opening the xenstore state directory '${dir}' failed: xenstored ${holder} is using it`, {
      hint: `stop process ${holder}, or use another --state-dir`,
    });
  }
  throw new ToolstackError('XS_STATE', `Opening the xenstore state directory '${dir}' failed: cannot claim ${file}`, {
    hint: 'another xenstored is starting on it; try again in a moment',
  });
}
