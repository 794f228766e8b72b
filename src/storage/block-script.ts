/**
 * Xen's block hotplug scripts (a disk's `script=`, or the `iscsi:`, `nbd:`, `enbd:`, `drbd:`
 * prefixes, which name `block-<prefix>`), run with the contract libxl gives them
 * (`libxl_linux.c`, Xen's `block-common.sh`):
 * - a name that is no path is looked for in the script directory (Xen's `/etc/xen/scripts`:
 *   `CONFIG_DIR/scripts`);
 * - the disk's backend is a `vbd` one whose `params` is the spec's target as written (an iSCSI
 *   name, a DRBD resource, a path...) and `script` the script's path; the script runs with the
 *   argument `add` once those nodes exist, and `remove` when the disk goes (its nodes still there);
 * - environment: dom0d's, plus `script` (its path), `XENBUS_TYPE=vbd`,
 *   `XENBUS_PATH=backend/vbd/<domid>/<devid>` (relative to Domain-0's home in xenstore),
 *   `XENBUS_BASE_PATH=backend`, and `XENSTORED_PATH` so that the `xenstore-*` clients the script
 *   calls reach dom0's xenstored;
 * - an `add` names the block device it made in the backend: `physical-device-path` (its path),
 *   else `physical-device` (`major:minor`, hexadecimal, as Xen's `write_dev` writes it). That
 *   device is what the guest gets;
 * - up to 40 s (libxl's hotplug timeout); a non-zero exit is a failure, told by the
 *   `hotplug-error` the script wrote, else its last stderr line.
 */
import { CommandFailed, HOTPLUG_TIMEOUT_MS, runCommand, shortageError, shortageOf } from '../host/index.js';

/** Where the script `script` (a name or a path) is. */
export function blockScriptPath(script: string, scriptDir: string): string {
  return script.startsWith('/') ? script : `${scriptDir}/${script}`;
}

export interface BlockScriptRun {
  /** The script's path. */
  readonly script: string;
  readonly action: 'add' | 'remove';
  readonly domid: number;
  readonly devid: number;
  /** dom0's xenstored socket (`XENSTORED_PATH`). */
  readonly xenstoredSocket: string;
}

/** The environment libxl gives a block script (see the module comment). */
export function blockScriptEnv(r: BlockScriptRun, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    script: r.script,
    XENBUS_TYPE: 'vbd',
    XENBUS_PATH: `backend/vbd/${r.domid}/${r.devid}`,
    XENBUS_BASE_PATH: 'backend',
    XENSTORED_PATH: r.xenstoredSocket,
  };
}

/** Runs a block script; resolves with undefined when it succeeded, else what went wrong (how it ended, and its last stderr line). */
export async function runBlockScript(r: BlockScriptRun): Promise<string | undefined> {
  try {
    await runCommand(r.script, [r.action], { env: blockScriptEnv(r, process.env), timeoutMs: HOTPLUG_TIMEOUT_MS });
    return undefined;
  } catch (e: unknown) {
    if (!(e instanceof CommandFailed)) throw e;
    // Not the script's failure: the host's, for the moment (HOST_RESOURCES; a restart waits for it).
    const shortage = shortageOf(e);
    if (shortage !== undefined) throw shortageError(shortage, `Running ${r.script} ${r.action}`, e);
    return e.stderr === '' ? e.status : `${e.status}: ${e.detail}`;
  }
}

/**
 * The block device an `add` reported: `physical-device-path`, else `physical-device`
 * (`fe:3` → `/dev/block/254:3`); undefined when it reported none.
 */
export function reportedDevice(physicalDevicePath: string | undefined, physicalDevice: string | undefined): string | undefined {
  if (physicalDevicePath !== undefined && physicalDevicePath.startsWith('/')) return physicalDevicePath;
  const m = /^([0-9a-f]+):([0-9a-f]+)$/i.exec(physicalDevice?.trim() ?? '');
  return m === null ? undefined : `/dev/block/${Number.parseInt(m[1] as string, 16)}:${Number.parseInt(m[2] as string, 16)}`;
}
