/**
 * The devices a running domain can gain and lose (`xl block-attach`, `network-attach`, ...), as
 * the domain layer handles them whatever their kind: a `DomainDevice` is one entry of the
 * domain's config (the IDL struct of its kind) tagged with libxl's device kind, the name of its
 * xenstore directories (`device/<kind>/<devid>`). The live device set *is* the record's config:
 * an attach adds the entry, a detach removes it, so `xl list -l`, a dom0d restart and the next
 * boot of the domain all see the same devices.
 *
 * Kinds: `vbd` (disks: `disks`, devid = the vdev's number) and `vif` (NICs: `nics`, devid as
 * libxl gives it). Adding a kind: a member of `DomainDevice`, and a case in each function below;
 * the manager, API and driver plumbing is shared.
 */
import { ToolstackError } from '../common/index.js';
import { nicWithLibxlDefaults, vdevNumber } from '../config/index.js';
import type { DiskDevice, DomainConfig, NicDevice } from '../config/index.js';
import { vbdNodes, vifNodes } from './xenstore-layout.js';
import type { DeviceNodes } from './xenstore-layout.js';

export type DomainDevice = { readonly kind: 'vbd'; readonly disk: DiskDevice } | { readonly kind: 'vif'; readonly nic: NicDevice };
export type DeviceKind = DomainDevice['kind'];
export const DEVICE_KINDS: readonly DeviceKind[] = ['vbd', 'vif'];

/** The devices of one kind in `config`, in config order. */
export function devicesOf(config: DomainConfig, kind: DeviceKind): DomainDevice[] {
  switch (kind) {
    case 'vbd': return (config.disks ?? []).map((disk) => ({ kind, disk }));
    case 'vif': return (config.nics ?? []).map((nic) => ({ kind, nic }));
  }
}

/** The device's libxl devid (a disk: its vdev's number); undefined when it has none libxl accepts. */
export function deviceDevid(device: DomainDevice): number | undefined {
  switch (device.kind) {
    case 'vbd': return vdevNumber(device.disk.vdev ?? '');
    case 'vif': return device.nic.devid !== undefined && device.nic.devid >= 0 ? device.nic.devid : undefined;
  }
}

/** How messages name the device: `disk xvdb`. */
export function deviceLabel(device: DomainDevice): string {
  switch (device.kind) {
    case 'vbd': return `disk ${device.disk.vdev ?? '?'}`;
    case 'vif': return `vif ${device.nic.devid ?? '?'}`;
  }
}

/**
 * The device of `kind` that `ref` names, as xl's `*-detach` reads its argument: a disk by vdev
 * or devid (`xvdb`, `51728`: both are turned into the devid and compared as libxl does); a
 * vif by MAC when the argument has a `:`, else by devid (read as C's `atoi`).
 */
export function findDevice(config: DomainConfig, kind: DeviceKind, ref: string): DomainDevice | undefined {
  switch (kind) {
    case 'vbd': {
      const devid = vdevNumber(ref);
      return devid === undefined ? undefined : deviceByDevid(config, kind, devid);
    }
    case 'vif': {
      if (ref.includes(':')) return devicesOf(config, kind).find((d) => d.kind === 'vif' && d.nic.mac?.toLowerCase() === ref.toLowerCase());
      return deviceByDevid(config, kind, Number.parseInt(/^\s*[-+]?\d+/.exec(ref)?.[0] ?? '0', 10));
    }
  }
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
  }
}

/**
 * `config` with `device` added; DEVICE_EXISTS (one line naming it and the domain) when the
 * domain has a device of that kind and devid already, CFG_VALUE when libxl would give it none.
 */
export function withDevice(config: DomainConfig, device: DomainDevice, domain: string): DomainConfig {
  const devid = deviceDevid(device);
  if (devid === undefined) {
    throw new ToolstackError('CFG_VALUE', `Cannot add ${deviceLabel(device)} to domain '${domain}': it is not a virtual device name libxl knows`, {
      hint: 'name a disk xvdX, hdX, sdX or dNpM (see xl-disk-configuration(5))',
    });
  }
  const same = deviceByDevid(config, device.kind, devid);
  if (same !== undefined) {
    throw new ToolstackError('DEVICE_EXISTS', `Cannot add ${deviceLabel(device)} to domain '${domain}': it has ${deviceLabel(same)} already (devid ${devid})`, {
      hint: `choose another name; xl ${device.kind === 'vbd' ? 'block' : 'network'}-list ${domain} shows what it has`,
    });
  }
  switch (device.kind) {
    case 'vbd': return { ...config, disks: [...(config.disks ?? []), device.disk] };
    case 'vif': return { ...config, nics: [...(config.nics ?? []), device.nic] };
  }
}

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
  }
}

/** Every device of the config, of every kind, as xenstore nodes (those with a devid). */
export function allDeviceNodes(config: DomainConfig, domid: number, scriptDir: string): DeviceNodes[] {
  return DEVICE_KINDS.flatMap((kind) => devicesOf(config, kind).flatMap((d) => deviceNodes(config, domid, d, scriptDir) ?? []));
}

/** libxl's defaults for a device added to running domain `config` (a vif: devid, MAC, bridge, type). */
export function withDeviceDefaults(config: DomainConfig, device: DomainDevice): DomainDevice {
  switch (device.kind) {
    case 'vbd': return device;
    case 'vif': return { kind: 'vif', nic: nicWithLibxlDefaults(config, device.nic) };
  }
}
