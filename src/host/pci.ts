/**
 * The host's PCI devices as VFIO passthrough needs them, read and changed through sysfs below a
 * root directory (`/` on a host; a directory tree shaped like sysfs in tests). A device is named
 * by its BDF as sysfs names it (`0000:03:00.0`).
 *
 * - IOMMU: the host has one when `sys/kernel/iommu_groups` has a group; a device can be given
 *   to a guest through VFIO when it has an `iommu_group` link, and only with its whole group
 *   (every other member bound to vfio-pci or to no driver).
 * - Binding to vfio-pci (the kernel's documented way): `vfio-pci` written to the device's
 *   `driver_override`, the device unbound from its driver (`driver/unbind`), its BDF written to
 *   `bus/pci/drivers_probe`; the device's `driver` link then names vfio-pci. Releasing it:
 *   unbound from vfio-pci, `driver_override` cleared, and, when asked, bound to a driver again
 *   (`bus/pci/drivers/<driver>/bind`).
 */
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errnoMessage, ToolstackError } from '../common/index.js';

export const VFIO_PCI_DRIVER = 'vfio-pci';

const BDF = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

export class HostPci {
  readonly #root: string;

  constructor(root = '/') {
    this.#root = root;
  }

  /** `sys/bus/pci/devices/<bdf>` below the root (what messages name). */
  devicePath(bdf: string): string {
    return join(this.#root, 'sys/bus/pci/devices', bdf);
  }

  /** `sys/kernel/iommu_groups` below the root. */
  get iommuGroupsPath(): string {
    return join(this.#root, 'sys/kernel/iommu_groups');
  }

  /** Whether the device exists: undefined, or the errno text of its `lstat` (`No such file or directory`). */
  missing(bdf: string): string | undefined {
    try {
      lstatSync(this.devicePath(bdf));
      return undefined;
    } catch (e: unknown) {
      return errnoMessage(e);
    }
  }

  /** True when the kernel has an IOMMU in use (an IOMMU group exists). */
  hasIommu(): boolean {
    return list(this.iommuGroupsPath).length > 0;
  }

  /** The device's IOMMU group, undefined when it has none. */
  iommuGroup(bdf: string): string | undefined {
    return link(join(this.devicePath(bdf), 'iommu_group'));
  }

  /** The devices of IOMMU group `group`. */
  groupDevices(group: string): string[] {
    return list(join(this.iommuGroupsPath, group, 'devices')).filter((d) => BDF.test(d)).sort();
  }

  /**
   * The processes that have the device's IOMMU group open (`dev/vfio/<group>` below the root,
   * looked for among `proc/PID/fd`): a guest's QEMU, this dom0's or another's (of another dom0 on
   * this host, or another program), which unbinding the device would take it from.
   */
  groupUsers(bdf: string, users: ReadonlyMap<string, readonly number[]> = this.vfioGroupUsers()): readonly number[] {
    const group = this.iommuGroup(bdf);
    return group === undefined ? [] : users.get(group) ?? [];
  }

  /** Every IOMMU group some process has open, with those processes: one look through `proc/PID/fd`. */
  vfioGroupUsers(): Map<string, number[]> {
    const vfio = `${join(this.#root, 'dev/vfio')}/`;
    const proc = join(this.#root, 'proc');
    const users = new Map<string, number[]>();
    for (const pid of list(proc).filter((p) => /^\d+$/.test(p))) {
      for (const fd of list(join(proc, pid, 'fd'))) {
        let target: string;
        try {
          target = readlinkSync(join(proc, pid, 'fd', fd));
        } catch {
          continue;
        }
        const group = target.startsWith(vfio) ? target.slice(vfio.length) : '';
        if (!/^\d+$/.test(group)) continue;
        const pids = users.get(group) ?? [];
        if (!pids.includes(Number(pid))) users.set(group, [...pids, Number(pid)]);
      }
    }
    return users;
  }

  /** The driver the device is bound to, undefined when none. */
  driver(bdf: string): string | undefined {
    return link(join(this.devicePath(bdf), 'driver'));
  }

  /** Whether the host knows driver `name` (`sys/bus/pci/drivers/<name>`: built in or loaded). */
  hasDriver(name: string): boolean {
    return existsSync(this.#driverPath(name));
  }

  /** The devices bound to vfio-pci, sorted. */
  vfioDevices(): string[] {
    return list(this.#driverPath(VFIO_PCI_DRIVER)).filter((d) => BDF.test(d)).sort();
  }

  /** The functions the host has of device `DDDD:BB:DD` (`0000:03:00`), ascending. */
  functions(slot: string): number[] {
    return list(join(this.#root, 'sys/bus/pci/devices')).filter((d) => d.startsWith(`${slot}.`) && BDF.test(d)).map((d) => Number(d.slice(-1))).sort();
  }

  /**
   * Binds the device to vfio-pci. Resolves once its `driver` link names vfio-pci; PCI_DEVICE
   * (naming the device and the step) when a write fails or the kernel bound it elsewhere.
   */
  async bindVfio(bdf: string): Promise<void> {
    const dev = this.devicePath(bdf);
    await this.#write(join(dev, 'driver_override'), VFIO_PCI_DRIVER, bdf);
    if (this.driver(bdf) !== undefined) await this.#write(join(dev, 'driver', 'unbind'), bdf, bdf);
    await this.#write(join(this.#root, 'sys/bus/pci/drivers_probe'), bdf, bdf);
    const now = this.driver(bdf);
    if (now !== VFIO_PCI_DRIVER) {
      throw new ToolstackError('PCI_DEVICE', `Couldn't bind PCI device ${bdf} to ${VFIO_PCI_DRIVER}: ${now === undefined ? 'it is bound to no driver' : `the kernel bound it to ${now}`}`, {
        hint: `is vfio-pci loaded (modprobe vfio-pci)? dmesg tells why the kernel refused; ${this.devicePath(bdf)}/driver_override is ${VFIO_PCI_DRIVER}`,
      });
    }
  }

  /** Unbinds the device from its driver (when it has one) and clears its `driver_override`. */
  async release(bdf: string): Promise<void> {
    const dev = this.devicePath(bdf);
    if (this.driver(bdf) !== undefined) await this.#write(join(dev, 'driver', 'unbind'), bdf, bdf);
    await this.#write(join(dev, 'driver_override'), '\n', bdf);
  }

  /** Binds the (driverless) device to driver `name`. */
  async bindTo(bdf: string, name: string): Promise<void> {
    await this.#write(join(this.#driverPath(name), 'bind'), bdf, bdf);
  }

  #driverPath(name: string): string {
    return join(this.#root, 'sys/bus/pci/drivers', name);
  }

  async #write(path: string, value: string, bdf: string): Promise<void> {
    try {
      await writeFile(path, value);
    } catch (e: unknown) {
      throw new ToolstackError('PCI_DEVICE', `PCI device ${bdf}: writing ${JSON.stringify(value.trim())} to ${path} failed: ${(e as Error).message}`, {
        hint: 'dom0d must run as root; dmesg tells why the kernel refused',
        cause: e,
      });
    }
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The last component of the symlink `path` points to; undefined when there is no such link. */
function link(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}
