/**
 * vif hotplug scripts (`script=`), run as libxl runs them (`libxl_linux.c`):
 *
 * - a name that is no path is looked for in the script directory (Xen's `/etc/xen/scripts`; here
 *   `CONFIG_DIR/scripts`); `vif-bridge` absent there is dom0's built-in bridge logic, which does
 *   what it does, so configs and xl.confs naming Xen's default run on a host without Xen's scripts;
 * - arguments `online type_if=vif` once the vif's xenstore nodes exist and before the guest runs,
 *   `offline type_if=vif` when the domain goes (one tap stands for Xen's vif and its `-emu` tap, so
 *   the script runs once per vif, as for a PV vif);
 * - environment: dom0d's, plus `script` (its path), `XENBUS_TYPE=vif`,
 *   `XENBUS_PATH=backend/vif/<domid>/<devid>` (relative to Domain-0's home in xenstore),
 *   `XENBUS_BASE_PATH=backend`, `netdev` (`gatewaydev=`, else empty), `vif` (the tap) and, for an
 *   emulated NIC (`type=ioemu`), `INTERFACE` (the same tap); and `XENSTORED_PATH`, so that the
 *   `xenstore-*` clients the scripts call reach dom0's xenstored;
 * - up to 40 s (libxl's hotplug timeout); a non-zero exit fails the vif, with the script's last
 *   line.
 */
import { executableProblem, HOTPLUG_TIMEOUT_MS, runCommand } from '../host/index.js';
import { basename } from 'node:path';
import type { ToolstackError } from '../common/index.js';
import type { NicDevice } from '../config/index.js';

/** The script Xen runs by default: the built-in logic stands in for it when it is not installed. */
const XEN_DEFAULT_SCRIPT = 'vif-bridge';

/**
 * The path of the script of a vif (`script=`), or undefined for the built-in bridge logic.
 * `fail(detail, hint)` makes the error for a script that is missing or not executable.
 */
export function vifScript(script: string | undefined, scriptDir: string, fail: (detail: string, hint: string) => ToolstackError): string | undefined {
  if (script === undefined || script === '') return undefined;
  const path = script.startsWith('/') ? script : `${scriptDir}/${script}`;
  const problem = executableProblem(path);
  if (problem === 'does not exist') {
    if (basename(path) === XEN_DEFAULT_SCRIPT) return undefined;
    throw fail(`its script ${path} does not exist`, `install it there, give script= an absolute path, or leave script= out for dom0's built-in bridge logic`);
  }
  if (problem === 'is not executable') throw fail(`its script ${path} is not executable`, `chmod +x ${path}`);
  if (problem !== undefined) throw fail(`its script ${path} ${problem}`, 'give script= the path of the script itself');
  return path;
}

export interface VifScriptRun {
  readonly script: string;
  readonly action: 'online' | 'offline';
  readonly domid: number;
  readonly devid: number;
  readonly tap: string;
  readonly nic: NicDevice;
  /** dom0's xenstored socket (`XENSTORED_PATH`). */
  readonly xenstoredSocket: string;
}

/** The environment libxl gives a vif script (see the module comment). */
export function vifScriptEnv(r: VifScriptRun, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    script: r.script,
    XENBUS_TYPE: 'vif',
    XENBUS_PATH: `backend/vif/${r.domid}/${r.devid}`,
    XENBUS_BASE_PATH: 'backend',
    netdev: r.nic.gatewaydev ?? '',
    ...(r.nic.nictype === 'vif_ioemu' ? { INTERFACE: r.tap } : {}),
    vif: r.tap,
    XENSTORED_PATH: r.xenstoredSocket,
  };
}

/** Runs a vif script; rejects with `CommandFailed` (its status and last stderr line). */
export async function runVifScript(r: VifScriptRun): Promise<void> {
  await runCommand(r.script, [r.action, 'type_if=vif'], { env: vifScriptEnv(r, process.env), timeoutMs: HOTPLUG_TIMEOUT_MS });
}
