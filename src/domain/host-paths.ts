/**
 * The host paths a config has QEMU make or open besides its disks, checked before QEMU is
 * spawned so that QEMU destroys nothing and blocks on nothing (`checkHostPaths`):
 * - a listening Unix socket (a channel's `connection=socket,path=`, a `serial='unix:PATH,server'`):
 *   QEMU unlinks the path before it binds, so there must be nothing there, or a stale socket
 *   (`socketPathProblem`); not a path another domain listens on, nor one this config names twice.
 *   An incoming migration's sender on this host, and a domain whose machine has stopped for good
 *   (a preserved one), yield theirs: the new QEMU takes them over, as before;
 * - `serial='file:PATH'`: created or truncated, so a file (or nothing) outside the host's own
 *   directories (`HOST_PRIVATE_DIRS`);
 * - `serial='pipe:PATH'`: FIFOs `PATH.in`/`PATH.out` or `PATH`, outside the host's own directories;
 * - `serial='/dev/...'`: a terminal (QEMU opens it read-write: a disk there would be the guest's).
 * Every such path is absolute (a relative one would be dom0d's working directory's). Failures are
 * GUEST_FILE, one line naming the path and what is there.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { isatty } from 'node:tty';
import { isErrno, shownValue, ToolstackError } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import { HeldDir, socketPathProblem, untrustedLinkRefusal } from '../host/index.js';
import { fdSetPath, parseSerial } from '../qemu/index.js';
import type { SerialBackend } from '../qemu/index.js';
import { imageIdentity, imagesOverlap } from '../storage/index.js';
import type { DiskOwner } from './disk-checks.js';
import { fileKind, guestFiles } from './qemu-runtime.js';

/**
 * Where no file a guest gets (a disk image's backing file, a serial port's file) may be: the
 * host's configuration, kernel interfaces, boot files, root's home, run-time state, dom0's own
 * state.
 */
export const HOST_PRIVATE_DIRS = ['/etc', '/proc', '/sys', '/boot', '/root', '/run', '/var/run', '/var/lib/dom0'];

/** The one of `dirs` that `real` (a resolved path) is in or is; undefined for none. */
function dirOf(real: string, dirs: readonly string[]): string | undefined {
  return dirs.find((d) => real === d || real.startsWith(`${d}/`));
}

/**
 * The host directory that `real` (a resolved path) is in, of `HOST_PRIVATE_DIRS` and `own` (this
 * dom0's directories where they are elsewhere: its state, run, config and log directories hold
 * the API token, every domain's records and consoles); undefined for none.
 */
export function hostPrivateDir(real: string, own: readonly string[] = []): string | undefined {
  return dirOf(real, [...HOST_PRIVATE_DIRS, ...own.map(resolved)]);
}

/** `path` resolved as far as it exists (a new file: its directory resolved). */
function resolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return `${realpathSync(dirname(path))}/${path.slice(dirname(path).length + 1)}`;
    } catch {
      return path;
    }
  }
}

interface HostEndpoint {
  readonly what: string;
  readonly key: string;
  readonly kind: 'socket' | 'file' | 'pipe' | 'tty';
  readonly path: string;
}

function endpoints(config: DomainConfig, lenient = false): HostEndpoint[] {
  const out: HostEndpoint[] = [];
  for (const c of config.channels ?? []) {
    const path = c.connection === 'socket' ? c.u?.socket?.path : undefined;
    if (path !== undefined) out.push({ what: `the socket of channel '${c.name ?? '?'}'`, key: 'channel=', kind: 'socket', path });
  }
  const hvm = config.b_info?.type === 'hvm' ? config.b_info.u?.hvm : undefined;
  const serials = hvm?.serial_list ?? (hvm?.serial === undefined ? [] : [hvm.serial]);
  serials.forEach((s, i) => {
    let b: SerialBackend;
    try {
      b = parseSerial(s);
    } catch (e: unknown) {
      if (!lenient) throw e;
      return;
    }
    const what = `serial port ${i}`;
    if (b.kind === 'unix' && b.server) out.push({ what: `the socket of ${what}`, key: 'serial=', kind: 'socket', path: b.path });
    if (b.kind === 'file' || b.kind === 'pipe' || b.kind === 'tty') out.push({ what, key: 'serial=', kind: b.kind, path: b.path });
  });
  return out;
}

/**
 * The paths QEMU listens on for `config` (what other domains' checks must not take). Never
 * throws: a running domain's serial item this dom0 no longer passes on (made by an older one) is
 * left out (its socket, live, is refused all the same by `socketPathProblem`).
 */
export function listeningPaths(config: DomainConfig): string[] {
  return endpoints(config, true).filter((e) => e.kind === 'socket').map((e) => e.path);
}

/**
 * Removes the sockets `config`'s QEMU listened on, once it is gone (killed, it unlinks none):
 * each only while it is a socket nothing listens on, reached through its directory opened once
 * (a directory swapped for a link meanwhile is not followed). A socket another domain's QEMU
 * listens on (a migration's sender on this host) stays.
 */
export async function removeDeadSockets(config: DomainConfig): Promise<void> {
  for (const path of listeningPaths(config)) {
    let dir: HeldDir;
    try {
      dir = HeldDir.open(dirname(path));
    } catch {
      continue;
    }
    try {
      const at = dir.at(basename(path));
      // A path too long to connect to could not be told from a dead socket: it stays.
      if (Buffer.byteLength(at) > MAX_SOCKET_PATH || lstatSync(at, { throwIfNoEntry: false })?.isSocket() !== true) continue;
      if (await socketPathProblem(at) === undefined) rmSync(at, { force: true });
    } finally {
      dir.close();
    }
  }
}

export interface HostPathContext {
  /** The paths other domains' QEMUs listen on, with the domain's words ("domain 'web' (3)"). */
  readonly taken: ReadonlyMap<string, string>;
  /** Paths whose listener yields to this domain's QEMU (see the module comment). */
  readonly yielding: ReadonlySet<string>;
  /** This dom0's own directories (see `hostPrivateDir`). */
  readonly ownDirs?: readonly string[];
}

/**
 * Every host path of `config` that dom0d looks at and its QEMU opens, for `probePaths`: the disks'
 * images, the files the guest boots from, and those of its serial ports and channels.
 */
export function configPaths(config: DomainConfig): string[] {
  return [
    ...(config.disks ?? []).map((d) => d.pdev_path ?? ''),
    ...guestFiles(config).map(([, path]) => path),
    ...endpoints(config, true).map((e) => e.path),
  ];
}

/** Checks the host paths of `config` (see the module comment); `source` names the config file for hints. */
export async function checkHostPaths(config: DomainConfig, source: string, ctx: HostPathContext): Promise<void> {
  const mine = new Set<string>();
  for (const e of endpoints(config)) {
    const fail = (why: string, hint: string): never => {
      throw new ToolstackError('GUEST_FILE', `Cannot use ${shownPath(e.path)} for ${e.what}: ${why}`, { hint: `${hint} in ${e.key} in ${source}` });
    };
    /** What is at `p` (symlinks followed unless `link`); undefined for nothing; `fail` when it cannot be looked at. */
    const at = (p: string, link = false): Stats | undefined => {
      try {
        return link ? lstatSync(p) : statSync(p);
      } catch (x: unknown) {
        if (isErrno(x, 'ENOENT')) return undefined;
        return fail(`${p === e.path ? 'it' : shownPath(p)} cannot be looked at (${isErrno(x) ? x.code ?? '' : String(x)})`, 'give a path the host can use');
      }
    };
    if (!isAbsolute(e.path)) {
      throw new ToolstackError('GUEST_FILE', `Cannot use ${shownPath(e.path)} for ${e.what}: the path is relative`, { hint: `give an absolute path in ${e.key} in ${source}` });
    }
    // QEMU opens (or binds) it as root, and writes what the guest sends.
    const refused = e.kind === 'tty' ? undefined : untrustedLinkRefusal(e.path);
    if (refused !== undefined) fail(refused.why, refused.hint);
    if (e.kind === 'socket') {
      if (mine.has(e.path)) fail('this domain listens there already (another of its sockets)', 'give each socket its own path');
      mine.add(e.path);
      const holder = ctx.taken.get(e.path);
      if (holder !== undefined && !ctx.yielding.has(e.path)) fail(`${holder} listens there`, 'give a path of its own');
      const problem = await socketPathProblem(e.path);
      if (problem !== undefined && !(problem.live && ctx.yielding.has(e.path))) {
        fail(`${problem.what} is there, which QEMU would remove to listen there`, 'give a path where nothing is (or a stale socket)');
      }
      continue;
    }
    const dir = hostPrivateDir(resolved(e.path), ctx.ownDirs);
    if (dir !== undefined && e.kind !== 'tty') fail(`it is in the host's own ${dir}`, 'give a path outside the host\'s own directories');
    const st = at(e.path);
    if (e.kind === 'file' && st !== undefined && !st.isFile()) fail(`it is ${fileKind(st)}, not a file`, 'give a file (or a new path)');
    if (e.kind === 'pipe') {
      for (const p of [`${e.path}.in`, `${e.path}.out`, e.path]) {
        const pst = at(p, true);
        if (pst !== undefined && !pst.isFIFO()) fail(`${shownPath(p)} is ${fileKind(pst)}, not a FIFO`, 'give the path of FIFOs (mkfifo PATH.in PATH.out)');
      }
    }
    if (e.kind === 'tty') checkTerminal(e.path, st, fail);
  }
}

/**
 * The host paths of `config` as QEMU is given them: each opened (or, for a socket, its directory
 * opened) by dom0d here, checked as opened, and handed to QEMU as descriptors it inherits
 * (`fds`: its 3, 4, ...), which its paths name (`/proc/self/fd/N`, QEMU's own), so that what QEMU
 * opens, truncates, or unlinks and binds is what was checked — not what a name says by the time
 * QEMU gets to it (another user's directory turned into a link to /etc between `checkHostPaths`
 * and QEMU's open: a file of root's truncated, or unlinked for a socket) — and a socket QEMU
 * unlinks as it ends is its own. `paths` maps a config path to QEMU's; a FIFO pair (`pipe:`) is
 * named through links in `runDir` (QEMU adds `.in` and `.out` to one path). `close` once QEMU is
 * spawned (it has its own copies; the links go once it has opened them: it has once it answers
 * on QMP). Failures are GUEST_FILE, as `checkHostPaths`'s.
 */
export function holdHostPaths(config: DomainConfig, source: string, own: readonly string[], runDir: string): HeldHostPaths {
  const fds: number[] = [];
  const links: string[] = [];
  const paths = new Map<string, string>();
  /** The path QEMU reaches `fd` by (`name` in it, for a directory). */
  const forQemu = (fd: number, name?: string): string => `/proc/self/fd/${3 + fds.indexOf(fd)}${name === undefined ? '' : `/${name}`}`;
  const close = (): void => {
    for (const l of links.splice(0)) rmSync(l, { force: true });
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    for (const [i, e] of endpoints(config).entries()) {
      if (paths.has(e.path)) continue;
      const fail = (why: string, hint: string): never => {
        throw new ToolstackError('GUEST_FILE', `Cannot use ${shownPath(e.path)} for ${e.what}: ${why}`, { hint: `${hint} in ${e.key} in ${source}` });
      };
      if (e.kind === 'tty') {
        // Opened here without becoming anyone's controlling terminal, and given to QEMU as an fd
        // set it dups from: QEMU, a session leader without one, opening the path itself took the
        // terminal as its own, and its hangup (a serial cable pulled, a pty's other end closed)
        // sent QEMU SIGHUP, which it takes for a power-off.
        let fd: number;
        try {
          fd = openSync(e.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
        } catch (x: unknown) {
          return fail(`it cannot be opened (${isErrno(x) ? x.code ?? '' : String(x)})`, 'give a terminal device the host lets QEMU open');
        }
        fds.push(fd);
        if (!isatty(fd)) fail('it is no terminal', 'give a terminal device of the host (/dev/ttyS1, /dev/ttyUSB0)');
        paths.set(e.path, fdSetPath(3 + fds.indexOf(fd)));
        continue;
      }
      let dir: HeldDir;
      try {
        dir = HeldDir.open(dirname(e.path));
      } catch (x: unknown) {
        return fail(`its directory cannot be opened (${isErrno(x) ? x.code ?? '' : String(x)})`, 'give a path in a directory that exists');
      }
      const base = basename(e.path);
      const inDir = hostPrivateDir(dir.realOf(base), own);
      if (inDir !== undefined) {
        dir.close();
        fail(`it is in the host's own ${inDir}`, 'give a path outside the host\'s own directories');
      }
      if (e.kind === 'socket') {
        fds.push(dir.fd);
        const held = forQemu(dir.fd, base);
        if (Buffer.byteLength(held) > MAX_SOCKET_PATH) fail(`its name is too long for a socket (${Buffer.byteLength(base)} bytes)`, 'give a shorter name');
        paths.set(e.path, held);
        continue;
      }
      /** `name` in the directory opened as `flags` allow, or undefined when there is none; `fail` for anything but `want`. */
      const open = (name: string, flags: number, want: 'file' | 'fifo'): number | undefined => {
        let fd: number;
        try {
          fd = openSync(dir.at(name), flags | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY, 0o600);
        } catch (x: unknown) {
          if (isErrno(x, 'ENOENT')) return undefined;
          const why = isErrno(x, 'ELOOP') ? 'it is a symlink (QEMU is given no link)' : isErrno(x, 'ENXIO') ? 'it is a FIFO, not a file' : `it cannot be opened (${isErrno(x) ? x.code ?? '' : String(x)})`;
          return fail(name === base ? why : `${shownPath(`${e.path}${name.slice(base.length)}`)}: ${why}`, 'give a path the host can use');
        }
        fds.push(fd);
        const st = fstatSync(fd);
        if (want === 'file' ? !st.isFile() : !st.isFIFO()) fail(`it is ${fileKind(st)}, not ${want === 'file' ? 'a file' : 'a FIFO'}`, want === 'file' ? 'give a file (or a new path)' : 'give the path of FIFOs (mkfifo PATH.in PATH.out)');
        return fd;
      };
      try {
        if (e.kind === 'file') {
          paths.set(e.path, forQemu(open(base, constants.O_WRONLY | constants.O_CREAT, 'file') as number));
          continue;
        }
        const link = `${runDir}/pipe${i}`;
        for (const suffix of ['.in', '.out', '']) {
          const fd = open(`${base}${suffix}`, constants.O_RDWR, 'fifo');
          if (fd === undefined) continue;
          rmSync(`${link}${suffix}`, { force: true });
          symlinkSync(forQemu(fd), `${link}${suffix}`);
          links.push(`${link}${suffix}`);
        }
        if (!links.some((l) => l.startsWith(link))) fail('there is no FIFO there', 'make the FIFOs first (mkfifo PATH.in PATH.out)');
        paths.set(e.path, link);
      } finally {
        dir.close();
      }
    }
    return { paths, fds: [...fds], close };
  } catch (e: unknown) {
    close();
    throw e;
  }
}

/** What `holdHostPaths` holds: QEMU's path of each config path, the descriptors QEMU inherits, and `close` (see there). */
export interface HeldHostPaths {
  readonly paths: ReadonlyMap<string, string>;
  readonly fds: readonly number[];
  readonly close: () => void;
}

/** The longest path a Unix socket can be bound at (`sun_path` less its NUL). */
const MAX_SOCKET_PATH = 107;

/** A path as messages show it: as it is when plain, quoted (escapes shown) when it holds a control character. */
function shownPath(p: string): string {
  return /[\x00-\x1f\x7f]/.test(p) || p.length > 200 ? shownValue(p, 200) : p;
}

/** A host terminal QEMU will open read-write: a character device that is a TTY. */
function checkTerminal(path: string, st: Stats | undefined, fail: (why: string, hint: string) => never): void {
  if (st === undefined) return fail('there is no such device', 'give a terminal device of the host');
  if (!st.isCharacterDevice()) fail(`it is ${fileKind(st)}, not a terminal`, 'give a terminal device of the host (/dev/ttyS1, /dev/ttyUSB0)');
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    if (!isatty(fd)) fail('it is a character device but no terminal', 'give a terminal device of the host (/dev/ttyS1, /dev/ttyUSB0)');
  } catch (e: unknown) {
    if (e instanceof ToolstackError) throw e;
    fail(`it cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'give a terminal device the host lets QEMU open');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Where `xl save` and `xl dump-core` never write for a client: the host's configuration, kernel
 * interfaces and boot files, and dom0's own state (`own`: its records' and run directories; a
 * save renamed over `/etc/passwd` or a domain's record would be lost to it), but for `allowed`
 * (dom0's dump directory, as Xen's /var/lib/xen/dump).
 */
const OUTPUT_FORBIDDEN_DIRS = ['/etc', '/proc', '/sys', '/boot'];

/** dom0's own directories for `outputFileProblem`. */
export interface OwnDirs {
  readonly own: readonly string[];
  readonly allowed: readonly string[];
}

/** The identity of the image `o` has: as its QEMU opened it when known, else what its path names now. */
export function ownerImage(o: DiskOwner): string | undefined {
  return o.id ?? imageIdentity(o.disk.pdev_path ?? '');
}

/**
 * Why dom0 must not write a domain's memory to `file` (`xl save`, `xl dump-core`), in words for
 * "Cannot ... to FILE: <why>"; undefined when it may. Besides the directories above, never over
 * the image of a disk some domain has (`disks`: every live domain's): a save renamed over its own
 * disk (a typo) would destroy the domain and its data at once.
 */
export function outputFileProblem(file: string, disks: readonly DiskOwner[], dirs: OwnDirs): string | undefined {
  const real = resolved(file);
  const dir = dirOf(real, dirs.allowed.map(resolved)) !== undefined ? undefined : dirOf(real, [...OUTPUT_FORBIDDEN_DIRS, ...dirs.own.map(resolved)]);
  if (dir !== undefined) return `it is in the host's own ${dir}`;
  const id = imageIdentity(real);
  if (id === undefined) return undefined;
  const owner = disks.find((o) => (o.disk.pdev_path ?? '') !== '' && imagesOverlap(ownerImage(o) ?? '', id));
  return owner === undefined ? undefined : `it is the image of disk ${owner.disk.vdev ?? '?'} of domain '${owner.name}' (${owner.domid})`;
}
