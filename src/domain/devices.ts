/**
 * The devices a running domain can gain and lose (`xl block-attach`, `network-attach`, ...), as
 * the domain layer handles them whatever their kind: a `DomainDevice` is one entry of the
 * domain's config (the IDL struct of its kind) tagged with libxl's device kind, the name of its
 * xenstore directories (`device/<kind>/<devid>`). The live device set *is* the record's config:
 * an attach adds the entry, a detach removes it, so `xl list -l`, a dom0d restart and the next
 * boot of the domain all see the same devices.
 *
 * Kinds: `vbd` (disks: `disks`, devid = the vdev's number), `vif` (NICs: `nics`, devid as
 * libxl gives it), `pci` (passed-through host PCI functions: `pcidevs`, devid = libxl's encoded
 * BDF, `(domain << 16) | (bus << 8) | (dev << 3) | func`), `vusb` (USB controllers: `usbctrls`,
 * devid as libxl gives it) and `usbdev` (host USB devices: `usbdevs`, devid = `(controller << 8)
 * | port`, the place libxl names them by) and `vkbd` (virtual keyboards/pointers: `vkbs`, devid
 * as libxl gives it: a virtio input device). Only vbd and vif have xenstore nodes: the others are
 * QEMU's devices with no PV back-end. Adding a kind: a member of `DomainDevice`, and a case in
 * each function below; the manager, API and driver plumbing is shared.
 */
import { ToolstackError } from '../common/index.js';
import { atoi, nicWithLibxlDefaults, parsePciSpec, pciBdfText, usbctrlWithDefaults, usbdevPlacement, usbWithDefaults, vdevNumber } from '../config/index.js';
import type { DiskDevice, DomainConfig, NicDevice, PciDevice, UsbctrlDevice, UsbdevDevice, VkbDevice } from '../config/index.js';
import { vbdNodes, vifNodes } from './xenstore-layout.js';
import type { DeviceNodes } from './xenstore-layout.js';

export type DomainDevice =
  | { readonly kind: 'vbd'; readonly disk: DiskDevice }
  | { readonly kind: 'vif'; readonly nic: NicDevice }
  | { readonly kind: 'pci'; readonly pci: PciDevice }
  | { readonly kind: 'vusb'; readonly usbctrl: UsbctrlDevice }
  | { readonly kind: 'usbdev'; readonly usbdev: UsbdevDevice }
  | { readonly kind: 'vkbd'; readonly vkb: VkbDevice };
export type DeviceKind = DomainDevice['kind'];
export const DEVICE_KINDS: readonly DeviceKind[] = ['vbd', 'vif', 'pci', 'vusb', 'usbdev', 'vkbd'];

/** The devices of one kind in `config`, in config order. */
export function devicesOf(config: DomainConfig, kind: DeviceKind): DomainDevice[] {
  switch (kind) {
    case 'vbd': return (config.disks ?? []).map((disk) => ({ kind, disk }));
    case 'vif': return (config.nics ?? []).map((nic) => ({ kind, nic }));
    case 'pci': return (config.pcidevs ?? []).map((pci) => ({ kind, pci }));
    case 'vusb': return (config.usbctrls ?? []).map((usbctrl) => ({ kind, usbctrl }));
    case 'usbdev': return (config.usbdevs ?? []).map((usbdev) => ({ kind, usbdev }));
    case 'vkbd': return (config.vkbs ?? []).map((vkb) => ({ kind, vkb }));
  }
}

/** The device's libxl devid (a disk: its vdev's number); undefined when it has none libxl accepts. */
export function deviceDevid(device: DomainDevice): number | undefined {
  switch (device.kind) {
    case 'vbd': return vdevNumber(device.disk.vdev ?? '');
    case 'vif': return device.nic.devid !== undefined && device.nic.devid >= 0 ? device.nic.devid : undefined;
    case 'pci': {
      const p = device.pci;
      return p.bus === undefined ? undefined : ((p.domain ?? 0) << 16) | (p.bus << 8) | ((p.dev ?? 0) << 3) | (p.func ?? 0);
    }
    case 'vusb': return device.usbctrl.devid !== undefined && device.usbctrl.devid >= 0 ? device.usbctrl.devid : undefined;
    case 'usbdev': {
      const { ctrl, port } = device.usbdev;
      return ctrl === undefined || ctrl < 0 || port === undefined || port < 1 ? undefined : (ctrl << 8) | port;
    }
    case 'vkbd': return device.vkb.devid !== undefined && device.vkb.devid >= 0 ? device.vkb.devid : undefined;
  }
}

/** How messages name the device: `disk xvdb`. */
export function deviceLabel(device: DomainDevice): string {
  switch (device.kind) {
    case 'vbd': return `disk ${device.disk.vdev ?? '?'}`;
    case 'vif': return `vif ${device.nic.devid ?? '?'}`;
    case 'pci': return `PCI device ${device.pci.bus === undefined ? (device.pci.name ?? '?') : pciBdfText(device.pci)}`;
    case 'vusb': return `USB controller ${device.usbctrl.devid ?? '?'}`;
    case 'usbdev': {
      const h = device.usbdev.u?.hostdev ?? {};
      return `USB device hostbus=${h.hostbus ?? 0},hostaddr=${h.hostaddr ?? 0}`;
    }
    case 'vkbd': return `vkb ${device.vkb.devid ?? '?'}`;
  }
}

/**
 * The device of `kind` that `ref` names, as xl's `*-detach` reads its argument: a disk by vdev
 * or devid (`xvdb`, `51728`: both are turned into the devid and compared as libxl does); a
 * vif by MAC when the argument has a `:`, else by devid (read as C's `atoi`); a PCI function by
 * its PCI_SPEC_STRING (the BDF, or `name=`); a USB controller by devid (`atoi`); a USB device by
 * `CONTROLLER:PORT` (each `atoi`).
 */
export function findDevice(config: DomainConfig, kind: DeviceKind, ref: string): DomainDevice | undefined {
  switch (kind) {
    case 'vbd': {
      const devid = vdevNumber(ref);
      return devid === undefined ? undefined : deviceByDevid(config, kind, devid);
    }
    case 'vif': {
      if (ref.includes(':')) return devicesOf(config, kind).find((d) => d.kind === 'vif' && d.nic.mac?.toLowerCase() === ref.toLowerCase());
      return deviceByDevid(config, kind, atoi(ref));
    }
    case 'pci': {
      const spec = parsePciSpec(ref);
      if (spec.bus === undefined) return devicesOf(config, kind).find((d) => d.kind === 'pci' && d.pci.name === spec.name);
      return deviceByDevid(config, kind, deviceDevid({ kind, pci: spec }) as number);
    }
    case 'vusb':
    case 'vkbd': return deviceByDevid(config, kind, atoi(ref));
    case 'usbdev': {
      const { ctrl, port } = usbPlace(ref);
      return deviceByDevid(config, kind, (ctrl << 8) | port);
    }
  }
}

/**
 * The other functions of the virtual slot whose function 0 `device` is (a PCI function on a
 * v-slot others share, as `BB:DD.*@VSLOT` gives them); none for anything else.
 */
export function slotMates(config: DomainConfig, device: DomainDevice): DomainDevice[] {
  if (device.kind !== 'pci') return [];
  const vdevfn = device.pci.vdevfn ?? 0;
  if (vdevfn >> 3 === 0 || (vdevfn & 7) !== 0) return [];
  return devicesOf(config, 'pci').filter((d) => d.kind === 'pci' && d.pci !== device.pci && (d.pci.vdevfn ?? 0) >> 3 === vdevfn >> 3);
}

/** `CONTROLLER:PORT`, how a `usbdev-detach` names a USB device (each part as C's `atoi`). */
export function usbPlace(ref: string): { readonly ctrl: number; readonly port: number } {
  const [ctrl = '', port = ''] = ref.split(':');
  return { ctrl: atoi(ctrl), port: atoi(port) };
}

/** The device of `kind` whose devid is `devid`. */
export function deviceByDevid(config: DomainConfig, kind: DeviceKind, devid: number): DomainDevice | undefined {
  return devicesOf(config, kind).find((d) => deviceDevid(d) === devid);
}

/** Xen's line for a `*-detach` argument that names no device of the domain (DEVICE_NOT_FOUND). */
export function deviceNotFound(kind: DeviceKind, ref: string, domain: string): ToolstackError {
  switch (kind) {
    case 'vbd': return new ToolstackError('DEVICE_NOT_FOUND', `Error: Device ${ref} not connected.`, { hint: `domain '${domain}' has no such disk (xl block-list ${domain})` });
    case 'vif': return new ToolstackError('DEVICE_NOT_FOUND', `Unknown device ${ref}.`, { hint: `domain '${domain}' has no vif of that devid or MAC (xl network-list ${domain})` });
    case 'pci': return new ToolstackError('DEVICE_NOT_FOUND', 'PCI device not attached to this domain', { hint: `domain '${domain}' has no PCI device ${ref} (xl pci-list ${domain})` });
    case 'vusb': return new ToolstackError('DEVICE_NOT_FOUND', `Unknown device ${ref}.`, { hint: `domain '${domain}' has no USB controller of that devid (xl usb-list ${domain})` });
    case 'usbdev': {
      const { ctrl, port } = usbPlace(ref);
      return new ToolstackError('DEVICE_NOT_FOUND', `Unknown device at controller ${ctrl} port ${port}.`, { hint: `xl usb-list ${domain} shows its controllers and what each port has` });
    }
    case 'vkbd': return new ToolstackError('DEVICE_NOT_FOUND', `Error: Device ${ref} not connected.`, { hint: `domain '${domain}' has no vkb of that devid (xl vkb-list ${domain})` });
  }
}

/** What a device needs to have a devid (vifs and controllers get one from libxl's defaults). */
const DEVID_HINT: Readonly<Record<DeviceKind, string>> = {
  vbd: 'name a disk xvdX, hdX, sdX or dNpM (see xl-disk-configuration(5))',
  vif: 'give it a devid of 0 or more',
  pci: 'give the device as DDDD:BB:DD.F',
  vusb: 'give it a devid of 0 or more',
  usbdev: 'give it a controller and a port of 1 or more',
  vkbd: 'give it a devid of 0 or more',
};

/**
 * `config` with `device` added; DEVICE_EXISTS (one line naming it and the domain) when the
 * domain has a device of that kind and devid already, CFG_VALUE when libxl would give it none.
 */
export function withDevice(config: DomainConfig, device: DomainDevice, domain: string): DomainConfig {
  const devid = deviceDevid(device);
  if (devid === undefined) {
    const why = device.kind === 'vbd' ? 'it is not a virtual device name libxl knows' : 'libxl would give it no device id';
    throw new ToolstackError('CFG_VALUE', `Cannot add ${deviceLabel(device)} to domain '${domain}': ${why}`, {
      hint: DEVID_HINT[device.kind],
    });
  }
  const same = deviceByDevid(config, device.kind, devid);
  if (same !== undefined) throw deviceExists(device, same, devid, domain);
  switch (device.kind) {
    case 'vbd': return { ...config, disks: [...(config.disks ?? []), device.disk] };
    case 'vif': return { ...config, nics: [...(config.nics ?? []), device.nic] };
    case 'pci': return { ...config, pcidevs: [...(config.pcidevs ?? []), device.pci] };
    case 'vusb': return { ...config, usbctrls: [...(config.usbctrls ?? []), device.usbctrl] };
    case 'vkbd': return { ...config, vkbs: [...(config.vkbs ?? []), device.vkb] };
    case 'usbdev': {
      // A device placed on a controller the domain lacks brings that controller (libxl's default one).
      const ctrl = device.usbdev.ctrl ?? -1;
      const usbctrls = config.usbctrls ?? [];
      const added = usbctrls.some((c) => c.devid === ctrl) ? [] : [usbctrlWithDefaults({ devid: ctrl }, ctrl)];
      return { ...config, usbctrls: [...usbctrls, ...added], usbdevs: [...(config.usbdevs ?? []), device.usbdev] };
    }
  }
}

function deviceExists(device: DomainDevice, same: DomainDevice, devid: number, domain: string): ToolstackError {
  return new ToolstackError('DEVICE_EXISTS', `Cannot add ${deviceLabel(device)} to domain '${domain}': it has ${deviceLabel(same)} already (devid ${devid})`, {
    hint: `choose another; xl ${LIST_COMMAND[device.kind]} ${domain} shows what it has`,
  });
}

/**
 * DEVICE_EXISTS for a new domain's config that has two devices of one kind and devid (two vifs
 * `devid=1`: their taps, xenstore directories and QEMU ids would be one).
 */
export function checkDistinctDevices(config: DomainConfig, domain: string): void {
  for (const kind of DEVICE_KINDS) {
    const seen = new Map<number, DomainDevice>();
    for (const d of devicesOf(config, kind)) {
      const devid = deviceDevid(d);
      if (devid === undefined) continue;
      const same = seen.get(devid);
      if (same !== undefined) throw deviceExists(d, same, devid, domain);
      seen.set(devid, d);
    }
  }
}

/** The `xl` command that lists a kind's devices. */
const LIST_COMMAND: Readonly<Record<DeviceKind, string>> = { vbd: 'block-list', vif: 'network-list', pci: 'pci-list', vusb: 'usb-list', usbdev: 'usb-list', vkbd: 'vkb-list' };

/** `config` with `device` (an entry of it, by identity) replaced by `by`, or removed when `by` is undefined. */
export function replaceDevice(config: DomainConfig, device: DomainDevice, by: DomainDevice | undefined): DomainConfig {
  switch (device.kind) {
    case 'vbd': {
      const disks = (config.disks ?? []).flatMap((d) => (d !== device.disk ? [d] : by?.kind === 'vbd' ? [by.disk] : []));
      return { ...config, disks };
    }
    case 'vif': {
      const nics = (config.nics ?? []).flatMap((n) => (n !== device.nic ? [n] : by?.kind === 'vif' ? [by.nic] : []));
      return { ...config, nics };
    }
    case 'pci': {
      const pcidevs = (config.pcidevs ?? []).flatMap((p) => (p !== device.pci ? [p] : by?.kind === 'pci' ? [by.pci] : []));
      return { ...config, pcidevs };
    }
    case 'vusb': {
      // A controller leaves with the devices on it.
      const usbctrls = (config.usbctrls ?? []).flatMap((c) => (c !== device.usbctrl ? [c] : by?.kind === 'vusb' ? [by.usbctrl] : []));
      const usbdevs = by === undefined ? (config.usbdevs ?? []).filter((d) => d.ctrl !== device.usbctrl.devid) : config.usbdevs;
      return { ...config, usbctrls, ...(usbdevs === undefined ? {} : { usbdevs }) };
    }
    case 'usbdev': {
      const usbdevs = (config.usbdevs ?? []).flatMap((d) => (d !== device.usbdev ? [d] : by?.kind === 'usbdev' ? [by.usbdev] : []));
      return { ...config, usbdevs };
    }
    case 'vkbd': {
      const vkbs = (config.vkbs ?? []).flatMap((k) => (k !== device.vkb ? [k] : by?.kind === 'vkbd' ? [by.vkb] : []));
      return { ...config, vkbs };
    }
  }
}

/**
 * The xenstore nodes of a device of domain `domid` (see xenstore-layout.ts); undefined without a
 * devid. `scriptDir`: where hotplug scripts named without a path are (the `script` nodes).
 */
export function deviceNodes(config: DomainConfig, domid: number, device: DomainDevice, scriptDir: string): DeviceNodes | undefined {
  const devid = deviceDevid(device);
  if (devid === undefined) return undefined;
  switch (device.kind) {
    case 'vbd': return vbdNodes(domid, config.c_info?.type ?? 'pv', devid, device.disk, scriptDir);
    case 'vif': return vifNodes(domid, devid, device.nic, scriptDir);
    case 'pci':
    case 'vusb':
    case 'usbdev':
    case 'vkbd': return undefined;
  }
}

/** Every device of the config, of every kind, as xenstore nodes (those with a devid). */
export function allDeviceNodes(config: DomainConfig, domid: number, scriptDir: string): DeviceNodes[] {
  return DEVICE_KINDS.flatMap((kind) => devicesOf(config, kind).flatMap((d) => deviceNodes(config, domid, d, scriptDir) ?? []));
}

/**
 * libxl's defaults for a device added to running domain `config` (a vif: devid, MAC, bridge,
 * type; a USB controller: type, version, ports, devid; a USB device: its controller and port,
 * possibly on a controller the domain does not have yet, which `withDevice` adds).
 */
export function withDeviceDefaults(config: DomainConfig, device: DomainDevice): DomainDevice {
  switch (device.kind) {
    case 'vbd':
    case 'pci': return device;
    case 'vif': return { kind: 'vif', nic: nicWithLibxlDefaults(config, device.nic) };
    case 'vusb': {
      const next = Math.max(-1, ...(config.usbctrls ?? []).map((c) => c.devid ?? -1)) + 1;
      return { kind: 'vusb', usbctrl: usbctrlWithDefaults(device.usbctrl, next) };
    }
    case 'usbdev': return { kind: 'usbdev', usbdev: usbdevPlacement(usbWithDefaults(config), device.usbdev).usbdev };
    case 'vkbd': {
      if (device.vkb.devid !== undefined && device.vkb.devid >= 0) return device;
      const next = Math.max(-1, ...(config.vkbs ?? []).map((k) => k.devid ?? -1)) + 1;
      return { kind: 'vkbd', vkb: { ...device.vkb, devid: next } };
    }
  }
}
