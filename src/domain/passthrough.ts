/**
 * What dom0 checks and does on the host for the devices a domain takes from it — PCI functions
 * through VFIO (`pci=`, `xl pci-attach`) and USB devices (`usbdev=`, `usbdevice=host:B.A`,
 * `xl usbdev-attach`) — and the pool of assignable PCI devices (`xl pci-assignable-*`), which
 * libxl keeps with pciback and dom0 with vfio-pci. Every refusal is one line naming the device
 * and why, with a hint, before anything was changed.
 *
 * A PCI device for a domain (at create, before QEMU starts; at pci-attach), in this order:
 * `name=` resolved to the BDF `pci-assignable-add -n` named; `BB:DD.*` expanded to the functions
 * the host has (with a v-slot, as libxl requires); the device exists (libxl's `Couldn't lstat`
 * line); the host has an IOMMU and the device an IOMMU group (else the line says so, with how to
 * enable one); every other device of the group is bound to vfio-pci, pci-stub, pcieport or no
 * driver (VFIO takes a group whole); the device is assignable — bound to vfio-pci — or is made
 * so first when its spec says `seize=1`; and no live domain has it.
 *
 * Assignable devices: bound to vfio-pci (`HostPci.bindVfio`), their `name` and the driver they
 * had (`driver_path`, for `pci-assignable-remove -r`) kept as libxl keeps them, in dom0d's
 * xenstore under `/libxl/pci/<DDDD-BB-DD-F>/`.
 *
 * A USB device: its node `/dev/bus/usb/BBB/DDD` exists (what QEMU's usb-host opens), it is no
 * hub, and no live domain has it.
 */
import { ToolstackError } from '../common/index.js';
import { parsePciBdf, pciAllFunctions, pciBdfText } from '../config/index.js';
import type { DomainConfig, PciDevice } from '../config/index.js';
import { HostPci, HostUsb, VFIO_PCI_DRIVER } from '../host/index.js';
import type { XenstoreClient } from '../xenstore/index.js';

/** A live domain, as the checks see it: what it has of the host. */
export interface DeviceHolder {
  readonly domid: number;
  readonly name: string;
  readonly config: DomainConfig;
}

/** One assignable device (`xl pci-assignable-list`). */
export interface AssignablePci {
  readonly bdf: string;
  readonly name?: string;
}

/** The assignable devices, and why there are none on a host that cannot have any. */
export interface AssignablePciList {
  readonly devices: readonly AssignablePci[];
  readonly warnings: readonly string[];
}

/** A host operation's result, with the warnings libxl would log along the way. */
export interface HostDeviceChange {
  readonly bdf: string;
  readonly warnings: readonly string[];
}

/** Drivers that leave an IOMMU group usable by VFIO. */
const VIABLE_DRIVERS = new Set([VFIO_PCI_DRIVER, 'pci-stub', 'pcieport']);
const IOMMU_HINT = 'VFIO passthrough needs an IOMMU: enable VT-d (Intel) or AMD-Vi (AMD) in the firmware and boot the host with intel_iommu=on or amd_iommu=on';
const INFO_PATH = '/libxl/pci';
/** libxl's bound on a device name's length. */
const MAX_NAME = 64;

type PciAddress = Pick<PciDevice, 'domain' | 'bus' | 'dev' | 'func'>;

export interface PassthroughOptions {
  /** The directory below which sysfs and /dev are (default `/`; tests give a fake tree). */
  readonly root?: string;
  /** dom0d's xenstore, where assignable devices' names and drivers are kept. */
  readonly xs?: XenstoreClient;
}

export class Passthrough {
  readonly pci: HostPci;
  readonly usb: HostUsb;
  readonly #xs: XenstoreClient | undefined;

  constructor(options: PassthroughOptions = {}) {
    this.pci = new HostPci(options.root);
    this.usb = new HostUsb(options.root);
    this.#xs = options.xs;
  }

  /**
   * `config` with its PCI devices resolved (names, `*`, `seize`) and every host device checked
   * for `domain` against the `live` domains (`domain` may be among them).
   */
  async prepare(config: DomainConfig, domain: { readonly domid: number; readonly name: string }, live: readonly DeviceHolder[]): Promise<DomainConfig> {
    const others = live.filter((d) => d.domid !== domain.domid);
    const taken = usbHolders(others);
    for (const [label, bus, addr] of usbOfConfig(config)) {
      this.checkUsb(label, bus, addr, domain, taken);
      taken.push({ domid: domain.domid, name: domain.name, bus, addr });
    }
    if ((config.pcidevs ?? []).length === 0) return config;
    const pcidevs: PciDevice[] = [];
    for (const p of config.pcidevs ?? []) {
      for (const f of await this.preparePci(p, domain, others)) {
        if (pcidevs.some((q) => samePci(q, f))) {
          throw new ToolstackError('PCI_DEVICE', `PCI device ${pciBdfText(f)} is given to domain '${domain.name}' twice`, { hint: 'list each host device once in pci=' });
        }
        pcidevs.push(f);
      }
    }
    return { ...config, pcidevs };
  }

  /**
   * The functions `pci` gives `domain`, each checked (and, with `seize`, made assignable): one,
   * or for `BB:DD.*` every function the host has, on the spec's v-slot, function 0 last (the one
   * a guest looks for when a slot is hot-plugged).
   */
  async preparePci(pci: PciDevice, domain: { readonly domid: number; readonly name: string }, live: readonly DeviceHolder[]): Promise<PciDevice[]> {
    const resolved = pci.name !== undefined && pci.bus === undefined ? { ...pci, ...await this.#byName(pci.name) } : pci;
    let functions: PciDevice[] = [resolved];
    if (pciAllFunctions(resolved)) {
      const slot = (resolved.vdevfn ?? 0) >> 3;
      if (slot === 0) {
        throw new ToolstackError('PCI_DEVICE', 'Must specify a v-slot for multi-function devices', {
          hint: `give every function of ${pciBdfText(resolved).slice(0, -2)} one virtual slot: BB:DD.*@VSLOT (hex, 1 to 1f)`,
        });
      }
      const bdf = pciBdfText(resolved);
      const present = this.pci.functions(bdf.slice(0, -2));
      if (present.length === 0) throw missingPci(this.pci.devicePath(bdf), 'No such file or directory');
      functions = present.sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b))
        .map((f) => ({ ...resolved, func: f, vfunc_mask: 1 << f, vdevfn: (slot << 3) | f }));
    }
    const along = new Set(functions.map((f) => pciBdfText(f)));
    for (const f of functions) await this.#checkPci(f, domain, live, along);
    return functions;
  }

  /**
   * Throws USB_DEVICE unless the host has USB device `bus`:`addr` for `domain` (`label` names it)
   * and none of `taken` (`usbHolders`) has it.
   */
  checkUsb(label: string, bus: number, addr: number, domain: { readonly domid: number; readonly name: string }, taken: readonly UsbHolder[]): void {
    const cannot = `Cannot attach USB device ${label} to domain '${domain.name}'`;
    if (!this.usb.exists(bus, addr)) {
      throw new ToolstackError('USB_DEVICE', `${cannot}: the host has no such device (no ${this.usb.devicePath(bus, addr)})`, {
        hint: 'lsusb lists the host\'s USB devices as "Bus BBB Device DDD": give those numbers as hostbus= and hostaddr=',
      });
    }
    if (this.usb.isHub(bus, addr)) {
      throw new ToolstackError('USB_DEVICE', `${cannot}: it is a USB hub, which cannot be passed through`, { hint: 'pass the devices behind the hub instead' });
    }
    const holder = taken.find((d) => d.bus === bus && d.addr === addr);
    if (holder !== undefined) {
      throw new ToolstackError('USB_DEVICE', `${cannot}: domain '${holder.name}' (${holder.domid}) has it already`, {
        hint: holder.domid === domain.domid ? `xl usb-list ${domain.name} shows where` : `xl usbdev-detach ${holder.name} CONTROLLER PORT frees it (xl usb-list ${holder.name})`,
      });
    }
  }

  /** Checks one function for `domain`; `along` are the functions passed with it (their own checks follow). */
  async #checkPci(pci: PciDevice, domain: { readonly domid: number; readonly name: string }, live: readonly DeviceHolder[], along: ReadonlySet<string>): Promise<void> {
    const bdf = pciBdfText(pci);
    this.#checkIommu(bdf, `pass PCI device ${bdf} through to domain '${domain.name}'`);
    const group = this.pci.iommuGroup(bdf) as string;
    for (const other of this.pci.groupDevices(group)) {
      const driver = along.has(other) ? undefined : this.pci.driver(other);
      if (driver !== undefined && !VIABLE_DRIVERS.has(driver)) {
        throw new ToolstackError('PCI_DEVICE', `Cannot pass PCI device ${bdf} through to domain '${domain.name}': its IOMMU group ${group} also holds ${other}, bound to ${driver}, and VFIO takes a group whole`, {
          hint: `make the group's other devices assignable too (xl pci-assignable-add ${other})`,
        });
      }
    }
    const holder = live.find((d) => d.domid !== domain.domid && (d.config.pcidevs ?? []).some((p) => samePci(p, pci)));
    if (holder !== undefined) {
      throw new ToolstackError('PCI_DEVICE', `PCI device ${bdf} is already assigned to domain '${holder.name}' (${holder.domid})`, {
        hint: `xl pci-detach ${holder.name} ${bdf} frees it`,
      });
    }
    const driver = this.pci.driver(bdf);
    if (driver === VFIO_PCI_DRIVER) return;
    if (pci.seize === true) {
      await this.assignableAdd(pci);
      return;
    }
    throw new ToolstackError('PCI_DEVICE', `PCI device ${bdf} is not assignable: it is bound to ${driver ?? 'no driver'}, not ${VFIO_PCI_DRIVER}`, {
      hint: `xl pci-assignable-add ${bdf} first, or add seize=1 to its spec`,
    });
  }

  /** Throws PCI_DEVICE unless the device exists, the host has an IOMMU and the device a group. */
  #checkIommu(bdf: string, what: string): void {
    const missing = this.pci.missing(bdf);
    if (missing !== undefined) throw missingPci(this.pci.devicePath(bdf), missing);
    if (!this.pci.hasIommu()) {
      throw new ToolstackError('PCI_DEVICE', `Cannot ${what}: the host has no IOMMU (${this.pci.iommuGroupsPath} is empty)`, { hint: IOMMU_HINT });
    }
    if (this.pci.iommuGroup(bdf) === undefined) {
      throw new ToolstackError('PCI_DEVICE', `Cannot ${what}: the device is in no IOMMU group (no ${this.pci.devicePath(bdf)}/iommu_group)`, {
        hint: 'the IOMMU does not cover this device: dmesg (DMAR, AMD-Vi) tells why',
      });
    }
  }

  /**
   * `xl pci-assignable-add [-n NAME] BDF`: binds the device to vfio-pci, remembering the driver it
   * had; a device bound already keeps its binding (a warning, as libxl's) and gets the name.
   */
  async assignableAdd(pci: PciAddress & { readonly name?: string }): Promise<HostDeviceChange> {
    const bdf = pciBdfText(pci);
    const name = pci.name;
    if (name !== undefined) {
      if (name.length > MAX_NAME) throw new ToolstackError('PCI_DEVICE', 'Name too long', { hint: `a name has at most ${MAX_NAME} characters` });
      if (!/^[\x21-\x7e]*$/.test(name)) throw new ToolstackError('PCI_DEVICE', 'Names may only include printable characters', { hint: 'no blanks or control characters' });
    }
    this.#checkIommu(bdf, `make PCI device ${bdf} assignable`);
    const warnings: string[] = [];
    const driver = this.pci.driver(bdf);
    if (driver === VFIO_PCI_DRIVER) {
      warnings.push(`${bdf} already assigned to ${VFIO_PCI_DRIVER}`);
    } else {
      if (!this.pci.hasDriver(VFIO_PCI_DRIVER)) {
        throw new ToolstackError('PCI_DEVICE', `Cannot make PCI device ${bdf} assignable: the ${VFIO_PCI_DRIVER} driver is not loaded`, { hint: 'modprobe vfio-pci' });
      }
      const known = await this.#readInfo(bdf, 'driver_path');
      if (driver !== undefined) await this.#info(bdf, 'driver_path', `/sys/bus/pci/drivers/${driver}`);
      else if (known === undefined) warnings.push(`${bdf} not bound to a driver, will not be rebound.`);
      try {
        await this.pci.bindVfio(bdf);
      } catch (e: unknown) {
        // Back as it was: no override, its driver again, the driver it had on record.
        await this.pci.release(bdf).catch(() => undefined);
        if (driver !== undefined && this.pci.driver(bdf) === undefined) await this.pci.bindTo(bdf, driver).catch(() => undefined);
        await this.#info(bdf, 'driver_path', known);
        await this.#pruneInfo(bdf);
        throw e;
      }
    }
    await this.#info(bdf, 'name', name);
    return { bdf, warnings };
  }

  /**
   * `xl pci-assignable-remove [-r] BDF|NAME` (a name first, as xl tries): unbinds the device from
   * vfio-pci and, with `rebind`, binds it to the driver it had. PCI_DEVICE while a live domain
   * has it; SPEC_PCI (xl's malformed-BDF line, exit 2) when `ident` is neither.
   */
  async assignableRemove(ident: string, rebind: boolean, live: readonly DeviceHolder[]): Promise<HostDeviceChange> {
    const named = await this.#findName(ident);
    let addr: PciAddress;
    if (named !== undefined) addr = parsePciBdf(named);
    else {
      try {
        addr = parsePciBdf(ident);
      } catch {
        const line = `pci-assignable-remove: malformed BDF '${ident}'`;
        throw new ToolstackError('SPEC_PCI', line, { lines: [line], exitCode: 2, hint: 'give a BDF ([DDDD:]BB:DD.F, hex) or a name pci-assignable-add -n gave' });
      }
    }
    const bdf = pciBdfText(addr);
    const holder = live.find((d) => (d.config.pcidevs ?? []).some((p) => samePci(p, addr)));
    if (holder !== undefined) {
      throw new ToolstackError('PCI_DEVICE', `PCI device ${bdf} is assigned to domain '${holder.name}' (${holder.domid})`, { hint: `xl pci-detach ${holder.name} ${bdf} first` });
    }
    const missing = this.pci.missing(bdf);
    if (missing !== undefined) throw missingPci(this.pci.devicePath(bdf), missing);
    const users = this.pci.groupUsers(bdf);
    if (users.length > 0) {
      throw new ToolstackError('PCI_DEVICE', `PCI device ${bdf} is in use: process ${users.join(', ')} has its IOMMU group open`, {
        hint: 'a guest of another dom0 on this host (or another program) has it: detach it there first',
      });
    }
    const warnings: string[] = [];
    if (this.pci.driver(bdf) === VFIO_PCI_DRIVER) await this.pci.release(bdf);
    else warnings.push(`Not bound to ${VFIO_PCI_DRIVER}${this.pci.hasIommu() ? '' : ` (the host has no IOMMU: no device can be)`}`);
    const driverPath = await this.#readInfo(bdf, 'driver_path');
    if (rebind) {
      if (driverPath === undefined) warnings.push("Couldn't find path for original driver; not rebinding");
      else {
        await this.pci.bindTo(bdf, driverPath.slice(driverPath.lastIndexOf('/') + 1));
        await this.#info(bdf, 'driver_path', undefined);
      }
    }
    await this.#info(bdf, 'name', undefined);
    await this.#pruneInfo(bdf);
    return { bdf, warnings };
  }

  /**
   * `xl pci-assignable-list`: devices bound to vfio-pci that no live domain has, with their names;
   * on a host without an IOMMU, a warning that none can be.
   */
  async assignableList(live: readonly DeviceHolder[]): Promise<AssignablePciList> {
    const taken = new Set(live.flatMap((d) => (d.config.pcidevs ?? []).map((p) => pciBdfText(p))));
    const devices: AssignablePci[] = [];
    const users = this.pci.vfioGroupUsers();
    for (const bdf of this.pci.vfioDevices()) {
      // A device whose group a process has open is another's (another dom0's guest, say).
      if (taken.has(bdf) || this.pci.groupUsers(bdf, users).length > 0) continue;
      const name = await this.#readInfo(bdf, 'name');
      devices.push(name === undefined ? { bdf } : { bdf, name });
    }
    const warnings = this.pci.hasIommu() ? [] : [`No PCI device can be assignable: the host has no IOMMU (${this.pci.iommuGroupsPath} is empty); ${IOMMU_HINT}`];
    return { devices, warnings };
  }

  /** The BDF an assignable device's name stands for; PCI_DEVICE when none has it. */
  async #byName(name: string): Promise<PciAddress> {
    const bdf = await this.#findName(name);
    if (bdf === undefined) {
      throw new ToolstackError('PCI_DEVICE', `There is no assignable PCI device named '${name}'`, { hint: 'xl pci-assignable-list -n shows the names; xl pci-assignable-add -n NAME BDF gives one' });
    }
    return parsePciBdf(bdf);
  }

  async #findName(name: string): Promise<string | undefined> {
    const xs = this.#xs;
    if (xs === undefined || !(await xs.exists(INFO_PATH))) return undefined;
    for (const key of await xs.directory(INFO_PATH)) {
      if ((await xs.tryRead(`${INFO_PATH}/${key}/name`)) === name) return key.replace(/^(\w{4})-(\w{2})-(\w{2})-(\w)$/, '$1:$2:$3.$4');
    }
    return undefined;
  }

  #infoPath(bdf: string, node: string): string {
    return `${INFO_PATH}/${bdf.replace(/[:.]/g, '-')}/${node}`;
  }

  async #readInfo(bdf: string, node: string): Promise<string | undefined> {
    return this.#xs?.tryRead(this.#infoPath(bdf, node));
  }

  /** Writes (or with `value` undefined removes) a device's node. */
  async #info(bdf: string, node: string, value: string | undefined): Promise<void> {
    const xs = this.#xs;
    if (xs === undefined) return;
    const path = this.#infoPath(bdf, node);
    if (value !== undefined) await xs.write(path, value);
    else if (await xs.exists(path)) await xs.rm(path);
  }

  /** Removes the device's directory once it holds nothing. */
  async #pruneInfo(bdf: string): Promise<void> {
    const xs = this.#xs;
    const dir = this.#infoPath(bdf, '').slice(0, -1);
    if (xs !== undefined && (await xs.exists(dir)) && (await xs.directory(dir)).length === 0) await xs.rm(dir);
  }
}

function missingPci(path: string, why: string): ToolstackError {
  const bdf = path.slice(path.lastIndexOf('/') + 1);
  return new ToolstackError('PCI_DEVICE', `Couldn't lstat ${path}: ${why}`, { hint: `the host has no PCI device ${bdf}: lspci -D lists the host's devices` });
}

function samePci(a: PciAddress, b: PciAddress): boolean {
  return (a.domain ?? 0) === (b.domain ?? 0) && (a.bus ?? 0) === (b.bus ?? 0) && (a.dev ?? 0) === (b.dev ?? 0) && (a.func ?? 0) === (b.func ?? 0);
}

/** A host USB device a domain has. */
export interface UsbHolder {
  readonly domid: number;
  readonly name: string;
  readonly bus: number;
  readonly addr: number;
}

/** The host USB devices `live` domains have. */
export function usbHolders(live: readonly DeviceHolder[]): UsbHolder[] {
  return live.flatMap((d) => usbOfConfig(d.config).map(([, bus, addr]) => ({ domid: d.domid, name: d.name, bus, addr })));
}

/** The host USB devices of a config, as [label, bus, address]: `usbdev=` and `usbdevice=host:B.A`. */
function usbOfConfig(config: DomainConfig): Array<[string, number, number]> {
  const hvm = config.b_info?.u?.hvm;
  const emulated = hvm?.usbdevice_list ?? (hvm?.usbdevice === undefined ? [] : [hvm.usbdevice]);
  const fromList = emulated.flatMap((n): Array<[string, number, number]> => {
    const m = /^host:(\d+)\.(\d+)$/.exec(n);
    return m === null ? [] : [[`usbdevice="${n}"`, Number(m[1]), Number(m[2])]];
  });
  const devs = (config.usbdevs ?? []).map((d): [string, number, number] => {
    const h = d.u?.hostdev ?? {};
    return [`hostbus=${h.hostbus ?? 0},hostaddr=${h.hostaddr ?? 0}`, h.hostbus ?? 0, h.hostaddr ?? 0];
  });
  return [...devs, ...fromList];
}
