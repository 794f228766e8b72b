/**
 * Disks with block hotplug scripts (`script=`; the contract is in storage/block-script.ts) on a
 * domain's xenstore nodes, as libxl drives them:
 * - `add` runs once the disk's nodes exist, before QEMU opens the disk; the block device it
 *   reports becomes the disk's `pdev_path` for QEMU: it must be a block device, and one the host
 *   does not use when the disk is writable (as a `phy:` disk). A failed `add` is one line naming the disk,
 *   the domain and the script, with the script's `hotplug-error` or last stderr line; it is
 *   followed by `remove` (as libxl cleans up) in the undoing of the attach or create.
 * - `remove` runs when the disk goes, while its nodes still exist (a disk whose backend is gone
 *   already is not run again); a failure is logged, it does not keep the disk or domain from going.
 * A missing or non-executable script fails before anything is made (`blockScriptOf`).
 */
import { statSync } from 'node:fs';
import { ToolstackError } from '../common/index.js';
import type { DiskDevice } from '../config/index.js';
import { executableProblem } from '../host/index.js';
import { blockDeviceUse, blockScriptPath, reportedDevice, runBlockScript } from '../storage/index.js';
import type { XenstoreClient } from '../xenstore/index.js';
import { devicePaths, writeDeviceNodes } from './xenstore-layout.js';
import type { DeviceNodes } from './xenstore-layout.js';

export interface BlockScriptHost {
  readonly xs: XenstoreClient;
  /** Where scripts named without a path are (`CONFIG_DIR/scripts`). */
  readonly scriptDir: string;
  /** dom0's xenstored socket, for the scripts' `xenstore-*` clients. */
  readonly xenstoredSocket: string;
  readonly log: (line: string) => void;
}

/** The domain a disk is for, as messages name it. */
interface Owner {
  readonly domid: number;
  readonly name: string;
}

/** Whether the disk is made by a block script. */
export function hasBlockScript(disk: DiskDevice): boolean {
  return disk.script !== undefined && disk.script !== '';
}

/** The path of the disk's script, checked (DISK_SCRIPT when it cannot run); undefined without one. */
export function blockScriptOf(host: BlockScriptHost, owner: Owner, disk: DiskDevice): string | undefined {
  if (!hasBlockScript(disk)) return undefined;
  const path = blockScriptPath(disk.script as string, host.scriptDir);
  const problem = executableProblem(path);
  if (problem !== undefined) {
    throw new ToolstackError('DISK_SCRIPT', `Disk vdev=${disk.vdev ?? '?'} of domain '${owner.name}': its block script ${path} ${problem}`, {
      hint: problem === 'is not executable' ? `chmod +x ${path}` : `install it there, or give script= an absolute path (names without one are looked for in ${host.scriptDir})`,
    });
  }
  return path;
}

/**
 * Runs the disk's script `add` (its nodes `nodes` written); resolves with the disk as QEMU
 * opens it (`pdev_path`: the block device the script reported). A failure leaves the undoing
 * (`removeBlockScript`, while the nodes exist) to the caller's clean-up.
 */
export async function addBlockScript(host: BlockScriptHost, owner: Owner, disk: DiskDevice, nodes: DeviceNodes): Promise<DiskDevice> {
  const script = blockScriptOf(host, owner, disk) as string;
  const backend = devicePaths(nodes).backend;
  const failed = await runBlockScript({ script, action: 'add', domid: owner.domid, devid: nodes.devid, xenstoredSocket: host.xenstoredSocket });
  const [error, path, majMin] = await Promise.all(['hotplug-error', 'physical-device-path', 'physical-device'].map((k) => host.xs.tryRead(`${backend}/${k}`)));
  const device = reportedDevice(path, majMin);
  const problem = device === undefined ? undefined : deviceProblem(device, (disk.readwrite ?? 0) !== 0 && (disk.is_cdrom ?? 0) === 0);
  if (failed === undefined && device !== undefined && problem === undefined) return { ...disk, pdev_path: device };
  const why = failed !== undefined ? `it failed: ${error ?? failed}`
    : problem !== undefined ? `it reported ${device ?? '?'}, ${problem}`
    : 'it reported no block device (physical-device-path or physical-device in its backend)';
  throw new ToolstackError('DISK_SCRIPT', `Disk vdev=${disk.vdev ?? '?'} of domain '${owner.name}': block script ${script} add: ${why}`, {
    hint: `its target is '${disk.pdev_path ?? ''}'; the script's environment: XENBUS_PATH=backend/vbd/${owner.domid}/${nodes.devid} (see xl-disk-configuration(5))`,
  });
}

/**
 * Why the device a script reported cannot be the guest's disk: it is no block device (QEMU opens
 * it as one), or it is `writable` and the host uses it (mounted, held; `blockDeviceUse`).
 */
function deviceProblem(device: string, writable: boolean): string | undefined {
  let st;
  try {
    st = statSync(device);
  } catch (e: unknown) {
    return `which cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (!st.isBlockDevice()) return 'which is not a block device';
  const use = writable ? blockDeviceUse(device) : undefined;
  return use === undefined ? undefined : `which the guest cannot write: ${use}`;
}

/** Runs the disk's script `remove` while its backend nodes exist; failures are logged. */
export async function removeBlockScript(host: BlockScriptHost, owner: Owner, disk: DiskDevice, nodes: Pick<DeviceNodes, 'domid' | 'kind' | 'backendKind' | 'devid'>): Promise<void> {
  if (!hasBlockScript(disk)) return;
  const script = blockScriptPath(disk.script as string, host.scriptDir);
  if (!(await host.xs.exists(devicePaths(nodes).backend))) return;
  const failed = await runBlockScript({ script, action: 'remove', domid: owner.domid, devid: nodes.devid, xenstoredSocket: host.xenstoredSocket });
  if (failed !== undefined) host.log(`domain ${owner.domid}: disk ${disk.vdev ?? '?'}: ${script} remove: ${failed}`);
}

/**
 * Boot: for each disk of `disks` with a script, in order, its nodes (`nodesOf`) written and its
 * `add` run. Resolves with the disks as QEMU opens them, and those disks' nodes with what their
 * scripts wrote into their backends (`physical-device`, ...: the domain's layout, written
 * afterwards, keeps them for `remove`). On a failure the disks done and the failing one have
 * their nodes: the domain's destroy runs their `remove` (`removeBlockScripts`).
 */
export async function addBlockScripts(
  host: BlockScriptHost, owner: Owner, disks: readonly DiskDevice[], nodesOf: (disk: DiskDevice) => DeviceNodes | undefined,
): Promise<{ readonly disks: DiskDevice[]; readonly nodes: DeviceNodes[] }> {
  const out: DiskDevice[] = [];
  const written: DeviceNodes[] = [];
  for (const disk of disks) {
    const nodes = hasBlockScript(disk) ? nodesOf(disk) : undefined;
    if (nodes === undefined) {
      out.push(disk);
      continue;
    }
    await writeDeviceNodes(host.xs, nodes);
    out.push(await addBlockScript(host, owner, disk, nodes));
    written.push(await withBackendNow(host.xs, nodes));
  }
  return { disks: out, nodes: written };
}

/** `nodes` with the values its backend directory holds now that it does not name (a script's). */
async function withBackendNow(xs: XenstoreClient, nodes: DeviceNodes): Promise<DeviceNodes> {
  const backend = devicePaths(nodes).backend;
  const back: Record<string, string> = { ...nodes.back };
  for (const key of await xs.directory(backend)) {
    const value = Object.hasOwn(back, key) ? undefined : await xs.tryRead(`${backend}/${key}`);
    if (value !== undefined) back[key] = value;
  }
  return { ...nodes, back };
}

/** Destroy: `remove` for each disk of `disks` with a script whose nodes exist, in reverse order. */
export async function removeBlockScripts(
  host: BlockScriptHost, owner: Owner, disks: readonly DiskDevice[], nodesOf: (disk: DiskDevice) => DeviceNodes | undefined,
): Promise<void> {
  for (const disk of [...disks].reverse()) {
    const nodes = hasBlockScript(disk) ? nodesOf(disk) : undefined;
    if (nodes !== undefined) await removeBlockScript(host, owner, disk, nodes);
  }
}
