/**
 * Disk images and block devices as QEMU will open them, looked at from the host before it does:
 * what `qemu-img info` reads of one (its format, or that another process holds QEMU's write
 * lock on it), whether two paths are the same image, and which processes have an image open.
 *
 * QEMU's image locks (file-posix `locking=auto`): a process that opens an image for writing
 * holds an OFD lock that makes every other opener that does not share writes fail with
 * `Failed to get "write" lock`. `qemu-img info` without `-U` is such an opener, so it fails
 * exactly when someone has the image open read-write; `/proc/locks` cannot say who (OFD locks
 * show pid -1), the openers' `/proc/<pid>/fd` can.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** What `qemu-img info` made of an image. */
export type ImageProbe =
  /** `format`: QEMU's driver name (`raw`, `qcow2`, `vpc`, ...), as probed. */
  | { readonly status: 'ok'; readonly format: string }
  /** Another process has it open for writing (QEMU's lock). */
  | { readonly status: 'locked'; readonly detail: string }
  /** qemu-img could not open or read it; `detail` is its first error line. */
  | { readonly status: 'unreadable'; readonly detail: string }
  /** No qemu-img on this host: nothing could be probed. */
  | { readonly status: 'unknown' };

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Runs `qemu-img info --output=json` on `path`: without `-U`, so a write lock held elsewhere
 * shows, unless `shared` (the caller expects one: an image an incoming migration shares with its
 * sender).
 */
export function probeImage(path: string, shared = false): Promise<ImageProbe> {
  return new Promise((resolve) => {
    execFile('qemu-img', ['info', '--output=json', ...(shared ? ['-U'] : []), path], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error === null) {
        try {
          const format = (JSON.parse(stdout) as { format?: unknown }).format;
          if (typeof format === 'string') {
            resolve({ status: 'ok', format });
            return;
          }
        } catch {
          // not JSON: reported below
        }
        resolve({ status: 'unreadable', detail: 'qemu-img printed no format' });
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ status: 'unknown' });
        return;
      }
      const said = stderr.split('\n').find((l) => l.trim() !== '')?.replace(/^qemu-img: /, '');
      const detail = said ?? (error.killed ? `qemu-img info did not finish within ${PROBE_TIMEOUT_MS / 1000} s` : error.message);
      resolve(/Failed to get (shared )?"(write|consistent read)" lock/.test(stderr) ? { status: 'locked', detail } : { status: 'unreadable', detail });
    });
  });
}

/** How a path is told apart from others: the device number for a block device, else device and inode. */
function identity(st: Stats): string {
  return st.isBlockDevice() ? `b:${st.rdev}` : `f:${st.dev}:${st.ino}`;
}

/** The identity of the image at `path` (symlinks followed); undefined when it cannot be stat'ed. */
export function imageIdentity(path: string): string | undefined {
  try {
    return identity(statSync(path));
  } catch {
    return undefined;
  }
}

/** Those of `pids` that have the image of identity `id` open (read from `/proc/<pid>/fd`). */
export function processesWithImageOpen(id: string, pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return false;
    }
    return fds.some((fd) => {
      try {
        return identity(statSync(`/proc/${pid}/fd/${fd}`)) === id;
      } catch {
        return false;
      }
    });
  });
}
