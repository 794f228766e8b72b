/**
 * Disk images and block devices as QEMU will open them, looked at from the host before it does:
 * what `qemu-img info` reads of one (the files its header names, or that another process holds
 * QEMU's write lock on it), the format its first bytes look like, whether two paths are the same image, and which processes have an image open.
 *
 * QEMU's image locks (file-posix `locking=auto`): a process that opens an image for writing
 * holds an OFD lock that makes every other opener that does not share writes fail with
 * `Failed to get "write" lock`. `qemu-img info` without `-U` is such an opener, so it fails
 * exactly when someone has the image open read-write; `/proc/locks` cannot say who (OFD locks
 * show pid -1), the openers' `/proc/<pid>/fd` can.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Stats } from 'node:fs';
import { shortageError, shortageOf } from '../host/index.js';

/** What `qemu-img info` read of an image opened with the driver given. */
export type ImageProbe =
  /**
   * `backing`: the file its header names as backing file (`qcow`, `qcow2`, `qed`), as written
   * (`name`), as QEMU resolves it (`path`: relative to the image's directory) and with the
   * format the header records (none: QEMU would probe it). `dataFile`: a qcow2 image's external
   * data file, resolved the same way.
   */
  | { readonly status: 'ok'; readonly backing?: ImageReference & { readonly format?: string }; readonly dataFile?: ImageReference }
  /** Another process has it open for writing (QEMU's lock). */
  | { readonly status: 'locked'; readonly detail: string }
  /** qemu-img could not open or read it; `detail` is its first error line. */
  | { readonly status: 'unreadable'; readonly detail: string }
  /** No qemu-img on this host: nothing could be probed. */
  | { readonly status: 'unknown' };

/** A file an image's header names. */
export interface ImageReference {
  readonly name: string;
  readonly path: string;
}

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Runs `qemu-img info -f DRIVER --output=json` on `path`. The format is always given: probing
 * reads the image's first bytes, which a guest writes itself on a raw disk. qemu-img opens the
 * image without its backing file (it only reads the header's name of it); a qcow2 external data
 * file is opened. Without `-U`, so a write lock held elsewhere shows, unless `shared` (the caller
 * expects one: an image an incoming migration shares with its sender). Rejects only when
 * qemu-img cannot be started for want of a process, descriptor or memory (HOST_RESOURCES: that
 * says nothing of the image).
 */
export function probeImage(path: string, driver: string, shared = false): Promise<ImageProbe> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['info', '-f', driver, '--output=json', ...(shared ? ['-U'] : []), path], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error === null) {
        const info = parseInfo(stdout);
        resolve(info === undefined ? { status: 'unreadable', detail: 'qemu-img printed no image information' } : { status: 'ok', ...references(path, info) });
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ status: 'unknown' });
        return;
      }
      const shortage = shortageOf(error);
      if (shortage !== undefined) {
        reject(shortageError(shortage, `Checking ${path} with qemu-img`, error));
        return;
      }
      const said = stderr.split('\n').find((l) => l.trim() !== '')?.replace(/^qemu-img: /, '');
      const detail = said ?? (error.killed ? `qemu-img info did not finish within ${PROBE_TIMEOUT_MS / 1000} s` : error.message);
      resolve(/Failed to get (shared )?"(write|consistent read)" lock/.test(stderr) ? { status: 'locked', detail } : { status: 'unreadable', detail });
    });
  });
}

interface ImageInfo {
  readonly 'backing-filename'?: unknown;
  readonly 'backing-filename-format'?: unknown;
  readonly 'format-specific'?: { readonly data?: { readonly 'data-file'?: unknown } };
}

function parseInfo(stdout: string): ImageInfo | undefined {
  try {
    const info: unknown = JSON.parse(stdout);
    return typeof info === 'object' && info !== null && typeof (info as { format?: unknown }).format === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** A name in an image's header as QEMU opens it: relative names are the image's directory's. */
function reference(image: string, name: string): ImageReference {
  return { name, path: isAbsolute(name) ? name : join(dirname(image), name) };
}

function references(image: string, info: ImageInfo): { backing?: ImageReference & { format?: string }; dataFile?: ImageReference } {
  const backing = info['backing-filename'];
  const format = info['backing-filename-format'];
  const dataFile = info['format-specific']?.data?.['data-file'];
  return {
    ...(typeof backing === 'string' && backing !== '' ? { backing: { ...reference(image, backing), ...(typeof format === 'string' ? { format } : {}) } } : {}),
    ...(typeof dataFile === 'string' && dataFile !== '' ? { dataFile: reference(image, dataFile) } : {}),
  };
}

/**
 * Image formats by the bytes they begin with (QEMU's drivers' names): how a raw disk that holds
 * another format's image is told. Only a hint: a guest writes its raw disk's first bytes itself.
 */
const MAGICS: readonly { readonly driver: string; readonly offset: number; readonly bytes: Buffer }[] = [
  { driver: 'qcow2', offset: 0, bytes: Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 2]) },
  { driver: 'qcow2', offset: 0, bytes: Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]) },
  { driver: 'qcow', offset: 0, bytes: Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1]) },
  { driver: 'qed', offset: 0, bytes: Buffer.from('QED\0', 'latin1') },
  { driver: 'vpc', offset: 0, bytes: Buffer.from('conectix', 'latin1') },
  { driver: 'vmdk', offset: 0, bytes: Buffer.from('KDMV', 'latin1') },
  { driver: 'vdi', offset: 64, bytes: Buffer.from([0x7f, 0x10, 0xda, 0xbe]) },
];

/**
 * The format whose magic the file at `path` begins with (`MAGICS`); undefined for none, or when
 * it cannot be read, or is no file or block device: a FIFO (an image swapped for one) is opened
 * without waiting for a writer and never read.
 */
export function imageMagic(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isBlockDevice()) return undefined;
    const head = Buffer.alloc(72);
    const n = readSync(fd, head, 0, head.length, 0);
    return MAGICS.find((m) => m.offset + m.bytes.length <= n && head.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes))?.driver;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
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

/** The descriptors `pid` has open (`/proc/<pid>/fd`'s names; none when it cannot be read). */
export function openFds(pid: number): Set<string> {
  try {
    return new Set(readdirSync(`/proc/${pid}/fd`));
  } catch {
    return new Set();
  }
}

/**
 * Those of `pids` that have the image of identity `id` open (read from `/proc/<pid>/fd`). A stat
 * of a descriptor follows it to its file, whose file system may hang (another image of a running
 * QEMU): `only.skip` leaves out descriptors open before (those of a QEMU before it opened the
 * image), `only.namedAs` looks only at those whose link names one of those paths (its readlink
 * touches no file system).
 */
export function processesWithImageOpen(id: string, pids: readonly number[], only: { readonly skip?: ReadonlySet<string>; readonly namedAs?: readonly string[] } = {}): number[] {
  return pids.filter((pid) => [...openFds(pid)].some((fd) => {
    if (only.skip?.has(fd) === true) return false;
    try {
      if (only.namedAs !== undefined && !only.namedAs.includes(readlinkSync(`/proc/${pid}/fd/${fd}`))) return false;
      return identity(statSync(`/proc/${pid}/fd/${fd}`)) === id;
    } catch {
      return false;
    }
  }));
}

/** `MAJOR:MINOR` of a Linux device number (the kernel's dev_t encoding, as `stat` gives it). */
function majorMinor(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff | Math.floor(rdev / 2 ** 32) & ~0xfff;
  const minor = rdev & 0xff | Math.floor(rdev / 4096) & ~0xff;
  return `${major}:${minor}`;
}

/** The whole disk a partition's `MAJOR:MINOR` is on (sysfs); undefined for a whole disk. */
function wholeDiskOf(mm: string): string | undefined {
  try {
    const dir = realpathSync(`/sys/dev/block/${mm}`);
    if (!existsSync(join(dir, 'partition'))) return undefined;
    return readFileSync(join(dirname(dir), 'dev'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Whether two images (by `imageIdentity`) share bytes: the same file or device, or a block device
 * and a partition on it.
 */
export function imagesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.startsWith('b:') || !b.startsWith('b:')) return false;
  const [x, y] = [majorMinor(Number(a.slice(2))), majorMinor(Number(b.slice(2)))];
  return wholeDiskOf(x) === y || wholeDiskOf(y) === x;
}

/**
 * What on the host uses the block device at `path` so that nobody else should write it: a mount
 * of it or of a partition on it (from `/proc/self/mountinfo`), a holder (device-mapper, md), or
 * another exclusive opener (swap, a file system's journal device). Told by opening it with
 * O_EXCL, which the kernel refuses (EBUSY) exactly then; undefined when it is free. QEMU does not
 * open devices exclusively: a domain's disk does not show here.
 */
export function blockDeviceUse(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_EXCL | constants.O_NONBLOCK);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'EBUSY') return undefined;
    return busyDetail(path);
  }
  closeSync(fd);
  return undefined;
}

function busyDetail(path: string): string {
  let mm: string;
  try {
    mm = majorMinor(statSync(path).rdev);
  } catch {
    return 'it is in use on the host';
  }
  const parts = new Set([mm]);
  try {
    const dir = realpathSync(`/sys/dev/block/${mm}`);
    for (const entry of readdirSync(dir)) {
      if (existsSync(join(dir, entry, 'partition'))) parts.add(readFileSync(join(dir, entry, 'dev'), 'utf8').trim());
    }
    const holders = readdirSync(join(dir, 'holders'));
    if (holders.length > 0) return `it is held by ${holders.join(', ')} on the host`;
  } catch {
    // no sysfs entry: only the mount table is looked at
  }
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] !== undefined && parts.has(f[2])) return `it is mounted on the host at ${f[4] ?? '?'}${f[2] === mm ? '' : ' (a partition of it)'}`;
    }
  } catch {
    // no mount table: the general words below
  }
  return 'it is in use on the host (swap, or another exclusive opener)';
}
