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
import { closeSync, constants, existsSync, lstatSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { isatty } from 'node:tty';
import { shownValue, ToolstackError } from '../common/index.js';
import type { DiskDevice, DomainConfig } from '../config/index.js';
import { socketPathProblem } from '../host/index.js';
import { parseSerial } from '../qemu/index.js';
import { imageIdentity, imagesOverlap } from '../storage/index.js';
import { fileKind } from './qemu-runtime.js';

/**
 * Where no file a guest gets (a disk image's backing file, a serial port's file) may be: the
 * host's configuration, kernel interfaces, boot files, root's home, run-time state, dom0's own
 * state.
 */
export const HOST_PRIVATE_DIRS = ['/etc', '/proc', '/sys', '/boot', '/root', '/run', '/var/run', '/var/lib/dom0'];

/** The host directory of `HOST_PRIVATE_DIRS` that `real` (a resolved path) is in; undefined for none. */
export function hostPrivateDir(real: string): string | undefined {
  return HOST_PRIVATE_DIRS.find((d) => real === d || real.startsWith(`${d}/`));
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

function endpoints(config: DomainConfig): HostEndpoint[] {
  const out: HostEndpoint[] = [];
  for (const c of config.channels ?? []) {
    const path = c.connection === 'socket' ? c.u?.socket?.path : undefined;
    if (path !== undefined) out.push({ what: `the socket of channel '${c.name ?? '?'}'`, key: 'channel=', kind: 'socket', path });
  }
  const hvm = config.b_info?.type === 'hvm' ? config.b_info.u?.hvm : undefined;
  const serials = hvm?.serial_list ?? (hvm?.serial === undefined ? [] : [hvm.serial]);
  serials.forEach((s, i) => {
    const b = parseSerial(s);
    const what = `serial port ${i}`;
    if (b.kind === 'unix' && b.server) out.push({ what: `the socket of ${what}`, key: 'serial=', kind: 'socket', path: b.path });
    if (b.kind === 'file' || b.kind === 'pipe' || b.kind === 'tty') out.push({ what, key: 'serial=', kind: b.kind, path: b.path });
  });
  return out;
}

/** The paths QEMU listens on for `config` (what other domains' checks must not take). */
export function listeningPaths(config: DomainConfig): string[] {
  return endpoints(config).filter((e) => e.kind === 'socket').map((e) => e.path);
}

export interface HostPathContext {
  /** The paths other domains' QEMUs listen on, with the domain's words ("domain 'web' (3)"). */
  readonly taken: ReadonlyMap<string, string>;
  /** Paths whose listener yields to this domain's QEMU (see the module comment). */
  readonly yielding: ReadonlySet<string>;
}

/** Checks the host paths of `config` (see the module comment); `source` names the config file for hints. */
export async function checkHostPaths(config: DomainConfig, source: string, ctx: HostPathContext): Promise<void> {
  const mine = new Set<string>();
  for (const e of endpoints(config)) {
    const fail = (why: string, hint: string): never => {
      throw new ToolstackError('GUEST_FILE', `Cannot use ${e.path} for ${e.what}: ${why}`, { hint: `${hint} in ${e.key} in ${source}` });
    };
    if (!isAbsolute(e.path)) {
      throw new ToolstackError('GUEST_FILE', `Cannot use ${shownValue(e.path, 200)} for ${e.what}: the path is relative`, { hint: `give an absolute path in ${e.key} in ${source}` });
    }
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
    const dir = hostPrivateDir(resolved(e.path));
    if (dir !== undefined && e.kind !== 'tty') fail(`it is in the host's own ${dir}`, 'give a path outside the host\'s own directories');
    if (e.kind === 'file' && existsSync(e.path) && !statSync(e.path).isFile()) {
      fail(`it is ${fileKind(statSync(e.path))}, not a file`, 'give a file (or a new path)');
    }
    if (e.kind === 'pipe') {
      for (const p of [`${e.path}.in`, `${e.path}.out`, e.path]) {
        const st = lstatSync(p, { throwIfNoEntry: false });
        if (st !== undefined && !st.isFIFO()) fail(`${p} is ${fileKind(st)}, not a FIFO`, 'give the path of FIFOs (mkfifo PATH.in PATH.out)');
      }
    }
    if (e.kind === 'tty') checkTerminal(e.path, fail);
  }
}

/** A host terminal QEMU will open read-write: a character device that is a TTY. */
function checkTerminal(path: string, fail: (why: string, hint: string) => never): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) fail('there is no such device', 'give a terminal device of the host');
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
 * interfaces, boot files and dom0's own state (a save renamed over `/etc/passwd` or a domain's
 * record would be lost to it).
 */
const OUTPUT_FORBIDDEN_DIRS = ['/etc', '/proc', '/sys', '/boot', '/var/lib/dom0'];

/**
 * Why dom0 must not write a domain's memory to `file` (`xl save`, `xl dump-core`), in words for
 * "Cannot ... to FILE: <why>"; undefined when it may. Besides the directories above, never over
 * the image of a disk some domain has (`disks`: every live domain's): a save renamed over its own
 * disk (a typo) would destroy the domain and its data at once.
 */
export function outputFileProblem(file: string, disks: readonly { readonly domid: number; readonly name: string; readonly disk: DiskDevice }[]): string | undefined {
  const real = resolved(file);
  const dir = OUTPUT_FORBIDDEN_DIRS.find((d) => real === d || real.startsWith(`${d}/`));
  if (dir !== undefined) return `it is in the host's own ${dir}`;
  const id = imageIdentity(real);
  if (id === undefined) return undefined;
  const owner = disks.find((o) => (o.disk.pdev_path ?? '') !== '' && imagesOverlap(imageIdentity(o.disk.pdev_path as string) ?? '', id));
  return owner === undefined ? undefined : `it is the image of disk ${owner.disk.vdev ?? '?'} of domain '${owner.name}' (${owner.domid})`;
}
