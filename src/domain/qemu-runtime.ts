/**
 * What a domain's QEMU needs on the host before it is spawned (the argv builder's
 * `DomainRuntime`): its run directory, console sockets and output feeds, taps, a private OVMF
 * variable store, and the files it boots from, checked to exist.
 *
 * Layout: `RUN_DIR/domains/<domid>/` holds `qmp.sock`, `qemu.pid`, and per console `<chardev>.sock`
 * (QEMU's) and `<chardev>.tty` (dom0d's, for outside clients), `vcpu-unplugged` once its QEMU has
 * unplugged a vCPU (see qemu-vcpus.ts); `STATE_DIR/domains/<domid>/` holds
 * `<chardev>.log`, QEMU's feed of each console's output (every byte, fresh at each start, read by
 * the console layer). Both go with the domain.
 */
import { copyFileSync, existsSync, lstatSync, readlinkSync, realpathSync, renameSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { errnoMessage, ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import { ensurePrivateDir, rotateLog, untrustedLinkRefusal, writeFileAtomic } from '../host/index.js';
import type { ArgvCapabilities, ConsoleRequirement, DomainRuntime } from '../qemu/index.js';
import type { DomainConsole } from './record.js';

/** A domain's directories (see the module comment). */
export function domainDirs(paths: Dom0Paths, domid: number): { readonly run: string; readonly state: string } {
  return { run: `${paths.runDir}/domains/${domid}`, state: `${paths.stateDir}/domains/${domid}` };
}

/**
 * `LOG_DIR/qemu-<name>.log`: the output of the QEMU of the domain now named `name` (the file it
 * replaced, a previous run's, is `.log.1`). It follows the domain's renames (`renameQemuLog`).
 */
export function qemuLogPath(paths: Dom0Paths, name: string): string {
  return `${paths.logDir}/qemu-${name}.log`;
}

/**
 * The domain `from` was renamed `to`: its QEMU log becomes `to`'s (the running QEMU writes on
 * through the descriptor it holds), a log already there, of a gone domain, rotated as at a
 * start. Earlier runs' `.log.1` stays with the old name. No log: nothing is done.
 */
export function renameQemuLog(paths: Dom0Paths, from: string, to: string): void {
  const source = qemuLogPath(paths, from);
  if (from === to || !existsSync(source)) return;
  const target = qemuLogPath(paths, to);
  rotateLog(target);
  renameSync(source, target);
}

/** Empties and (re)creates the domain's directories; returns where each console will be. */
export async function prepareDomainDirs(paths: Dom0Paths, domid: number, consoles: readonly ConsoleRequirement[]): Promise<DomainConsole[]> {
  const dirs = domainDirs(paths, domid);
  await removeDomainDirs(paths, domid);
  ensurePrivateDir(dirs.run);
  ensurePrivateDir(dirs.state);
  return Promise.all(consoles.map(async (c) => {
    const feed = `${dirs.state}/${c.id}.log`;
    await writeFileAtomic(feed, '');
    return { ...c, socket: `${dirs.run}/${c.id}.sock`, feed, tty: `${dirs.run}/${c.id}.tty` };
  }));
}

/**
 * Removes the domain's directories. The console layer may still be saving its last offset into
 * the state directory while its QEMU goes: the removal retries a directory that is not yet empty.
 */
export async function removeDomainDirs(paths: Dom0Paths, domid: number): Promise<void> {
  const dirs = domainDirs(paths, domid);
  const gone = { recursive: true, force: true, maxRetries: 10, retryDelay: 20 };
  await Promise.all([rm(dirs.run, gone), rm(dirs.state, gone)]);
}

/** The consoles as the argv builder takes them (socket + feed by chardev id). */
export function consoleEndpoints(consoles: readonly DomainConsole[]): DomainRuntime['consoles'] {
  return Object.fromEntries(consoles.map((c) => [c.id, { socket: c.socket, logFile: c.feed }]));
}

/** The files QEMU loads the guest from (`kernel`, `ramdisk`, firmware), by the config key naming each. */
export function guestFiles(config: DomainConfig): Array<readonly [string, string]> {
  const hvm = config.b_info?.type === 'hvm' ? config.b_info.u?.hvm : undefined;
  const files: ReadonlyArray<readonly [string, string | undefined]> = [
    ['kernel', config.b_info?.kernel],
    ['ramdisk', config.b_info?.ramdisk],
    ['firmware', hvm?.bios === 'ovmf' ? undefined : (hvm?.system_firmware ?? hvm?.firmware)],
    ['smbios_firmware', hvm?.smbios_firmware],
    ['acpi_firmware', hvm?.acpi_firmware],
  ];
  return files.filter((f): f is readonly [string, string] => f[1] !== undefined);
}

/**
 * The files QEMU boots from (kernel, ramdisk, an HVM firmware image, SMBIOS and ACPI tables) must be regular files with
 * something in them before QEMU is spawned, so a typo is one line naming the file and nothing is
 * left behind: QEMU blocks for good opening a FIFO (its monitor never answers), calls an empty
 * or special file "No such file or directory", and fails to map a device (disks: `checkDisks`).
 */
export function checkGuestFiles(config: DomainConfig, source: string): void {
  for (const [key, path] of guestFiles(config)) {
    const err = statError(path) ?? notAFileError(path);
    if (err !== undefined) {
      const line = `Cannot open ${key} ${path}: ${err}`;
      throw new ToolstackError('GUEST_FILE', line, { lines: [line], hint: `check ${key}= in ${source}` });
    }
  }
}

/** Why `path` (which can be stat'ed) is no file QEMU can load an image from; undefined when it is one. */
function notAFileError(path: string): string | undefined {
  const st = statSync(path);
  if (st.isFile()) return st.size === 0 ? 'the file is empty' : undefined;
  return `it is ${fileKind(st)}, not a file`;
}

/** What kind of file `st` describes, in words ("a FIFO"), for messages about the wrong kind. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return st.isFile() ? 'a file' : 'a special file';
}

/**
 * The file a domain's memory goes into when the user names `file` (`xl save`, `xl dump-core`):
 * `file`, or the file its symlink names (xl's open() writes through a link; a save renamed over the
 * link would replace it). What is there already must be a file: a save renamed over a device node
 * (`/dev/null`) would replace the node itself, and opening a FIFO blocks until a reader comes (in
 * QEMU, or in dom0d). Another user's link in /tmp is refused (`untrustedLink`): root writing
 * through it would replace whatever that user named. `fail` makes the error from the reason (and a hint).
 */
export function writeTarget(file: string, fail: (why: string, hint?: string) => ToolstackError): string {
  const refused = untrustedLinkRefusal(file);
  if (refused !== undefined) throw fail(refused.why, refused.hint);
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return file; // a new file (a missing directory is reported by the write)
  }
  let target = file;
  if (st.isSymbolicLink()) {
    try {
      target = realpathSync(file);
      st = statSync(target);
    } catch {
      throw fail(`it is a symlink to nothing (${readlinkSync(file)})`, 'give the path of a file, or make the link name one');
    }
  }
  if (!st.isFile()) throw fail(`it is ${fileKind(st)}, not a file`);
  return target;
}

/** Why `path` cannot be stat'ed, in libc's words; undefined when it can. */
export function statError(path: string): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (e: unknown) {
    return errnoMessage(e);
  }
}

/** A writable copy of the OVMF variable store in the domain's run directory. */
export function copyOvmfVars(caps: ArgvCapabilities, runDir: string): string {
  const src = caps.firmware.ovmfVars;
  const dst = `${runDir}/OVMF_VARS.fd`;
  if (src !== undefined) copyFileSync(src, dst);
  return dst;
}
