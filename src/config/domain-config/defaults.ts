/**
 * What happens to a domain config after xl has parsed it, as libxl does at creation: paths made
 * absolute against xl's working directory (libxl opens files from xl's process), libxl's defaults
 * filled in (`libxl__domain_config_setdefault` and the devices' `*_setdefault`), and the figures
 * every layer reads — memory and vCPUs — answered by one function each. The result is what the
 * domain is stored as, built from, rebuilt from at a restart, and what `xl list -l` shows.
 */
import { isAbsolute, resolve } from 'node:path';
import { ToolstackError } from '../../common/index.js';
import type { DomainConfig, NicDevice } from './domain-config.js';
import { MAX_VCPU_COUNT } from './context.js';
import { MEMKB_DEFAULT } from './idl.js';
import { usbWithDefaults } from './usb.js';

/** libxl's memory when the config gives none (`LIBXL_MEMKB_DEFAULT` → 32 MiB). */
export const DEFAULT_MEMORY_KIB = 32 * 1024;
/** Xen's OUI, the first three octets of every MAC libxl generates. */
const XEN_OUI = [0x00, 0x16, 0x3e];
const NIL_UUID = /^[0-]+$/;

export interface DomainMemory {
  /** `maxmem` (static max), KiB. */
  readonly maxKiB: number;
  /** `memory` (the balloon target), KiB. */
  readonly targetKiB: number;
  /** `videoram`, KiB (0: the adapter's default). */
  readonly videoKiB: number;
}

/**
 * How much memory the domain has: `maxmem` and `memory` as libxl reads them (an unset one takes
 * the other's value; neither: 32 MiB).
 */
export function domainMemory(config: DomainConfig): DomainMemory {
  const b = config.b_info ?? {};
  const max = memkb(b.max_memkb);
  const target = memkb(b.target_memkb);
  return {
    maxKiB: max ?? target ?? DEFAULT_MEMORY_KIB,
    targetKiB: target ?? max ?? DEFAULT_MEMORY_KIB,
    videoKiB: memkb(b.video_memkb) ?? 0,
  };
}

/** How many vCPUs: `maxvcpus` (at least 1) and the online ones (`vcpus`, at least 1). */
export function domainVcpus(config: DomainConfig): { readonly max: number; readonly online: number } {
  const b = config.b_info ?? {};
  const online = Math.max(1, b.avail_vcpus?.length ?? 0);
  return { max: Math.max(online, b.max_vcpus ?? 0, 1), online };
}

/** The VNC password (`vncpasswd`): HVM's display settings, else the first vfb's; undefined when none. */
export function domainVncPassword(config: DomainConfig): string | undefined {
  const p = config.c_info?.type === 'hvm' ? config.b_info?.u?.hvm?.vnc?.passwd : config.vfbs?.[0]?.vnc?.passwd;
  return p === undefined || p === '' ? undefined : p;
}

function memkb(v: number | bigint | undefined): number | undefined {
  if (v === undefined || BigInt(v) === MEMKB_DEFAULT) return undefined;
  return Number(v);
}

/**
 * The config with every host path it names made absolute against `cwd` (xl's working directory):
 * kernel, ramdisk, device tree, firmware images, file-backed disks, 9p shares, channel sockets.
 * A disk target that a block script interprets, an empty CD-ROM and a firmware given by name
 * are left as written.
 */
export function withAbsolutePaths(config: DomainConfig, cwd: string): DomainConfig {
  const abs = <T extends string | undefined>(p: T): T => (p === undefined || p === '' || isAbsolute(p) ? p : resolve(cwd, p) as T);
  const b = config.b_info;
  const hvm = b?.u?.hvm;
  return {
    ...config,
    ...(b === undefined ? {} : {
      b_info: {
        ...b,
        ...defined({ kernel: abs(b.kernel), ramdisk: abs(b.ramdisk), device_tree: abs(b.device_tree) }),
        ...(hvm === undefined ? {} : {
          u: {
            ...b.u,
            hvm: {
              ...hvm,
              ...defined({
                firmware: hvm.firmware?.includes('/') === true ? abs(hvm.firmware) : hvm.firmware,
                system_firmware: abs(hvm.system_firmware),
                smbios_firmware: abs(hvm.smbios_firmware),
                acpi_firmware: abs(hvm.acpi_firmware),
              }),
            },
          },
        }),
      },
    }),
    ...(config.disks === undefined ? {} : {
      disks: config.disks.map((d) => (d.script !== undefined || d.format === 'empty' ? d : { ...d, ...defined({ pdev_path: abs(d.pdev_path) }) })),
    }),
    ...(config.p9s === undefined ? {} : { p9s: config.p9s.map((p) => ({ ...p, ...defined({ path: abs(p.path) }) })) }),
    ...(config.channels === undefined ? {} : {
      channels: config.channels.map((c) => (c.u?.socket?.path === undefined ? c : { ...c, u: { ...c.u, socket: { ...c.u.socket, path: abs(c.u.socket.path) } } })),
    }),
  };
}

/** Sources of randomness for the values libxl generates (injectable for tests). */
export interface DefaultsEnv {
  readonly randomUuid: () => string;
  readonly randomBytes: (n: number) => Uint8Array;
}

const SYSTEM_RANDOM: DefaultsEnv = {
  randomUuid: () => globalThis.crypto.randomUUID(),
  randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
};

/**
 * libxl's defaults for a new domain: a uuid when none (or the nil one) is given, the guest type
 * (pv), 32 MiB when no memory is given and the target equal to the maximum when only one is,
 * one vCPU, and per vif a devid, a MAC (Xen's OUI, three random octets) and the bridge `xenbr0`;
 * vfb/vkb devids; USB controllers and host devices as `usbWithDefaults` places them. Refuses a memory target above the maximum (`memory=` > `maxmem=`), as libxl
 * does, with a CFG_VALUE error naming both.
 */
export function withLibxlDefaults(config: DomainConfig, env: DefaultsEnv = SYSTEM_RANDOM): DomainConfig {
  const c = config.c_info ?? {};
  const b = config.b_info ?? {};
  const type = c.type ?? 'pv';
  const mem = domainMemory(config);
  // Xen's domain builder has no page to put the guest in; QEMU started a machine of 8 KiB whose
  // guest reset again and again (on_reboot restarting it every 2 s).
  if (mem.targetKiB <= 0 || mem.maxKiB <= 0) {
    throw new ToolstackError('CFG_VALUE', `Creating the domain failed: its ${mem.targetKiB <= 0 ? 'memory' : 'maxmem'} is 0 MiB`, {
      hint: 'give memory= (in MiB) the memory the guest needs, e.g. memory=512',
    });
  }
  if (mem.targetKiB > mem.maxKiB) {
    throw new ToolstackError('CFG_VALUE', `Creating the domain failed: its memory (${mem.targetKiB / 1024} MiB) is more than its maxmem (${mem.maxKiB / 1024} MiB)`, {
      lines: [`libxl: error: memory target ${mem.targetKiB} KiB is above the maximum ${mem.maxKiB} KiB`],
      hint: 'memory= must not exceed maxmem=; raise maxmem or lower memory',
    });
  }
  const vcpus = domainVcpus(config);
  // A config from JSON (the API) has not been through the cfg checks: lists of this length follow.
  if (vcpus.max > MAX_VCPU_COUNT) {
    throw new ToolstackError('CFG_VALUE', `Creating the domain failed: max_vcpus=${vcpus.max} is more vCPUs than can be described (at most ${MAX_VCPU_COUNT})`, { hint: 'give a real vCPU count' });
  }
  checkDeviceCounts(config);
  const ids = <T extends { devid?: number }>(list: readonly T[] | undefined): T[] | undefined =>
    list?.map((d, i) => ((d.devid ?? -1) < 0 ? { ...d, devid: i } : d));
  return {
    ...config,
    c_info: { ...c, type, uuid: c.uuid === undefined || NIL_UUID.test(c.uuid) ? env.randomUuid() : c.uuid },
    b_info: {
      ...b,
      type: b.type ?? type,
      max_memkb: mem.maxKiB,
      target_memkb: mem.targetKiB,
      max_vcpus: vcpus.max,
      avail_vcpus: b.avail_vcpus !== undefined && b.avail_vcpus.length > 0 ? b.avail_vcpus : [0],
    },
    ...defined({
      nics: config.nics?.map((n, i) => nicDefaults(n, i, type, env)),
      vfbs: ids(config.vfbs),
      vkbs: ids(config.vkbs),
    }),
    ...(config.usbctrls === undefined && config.usbdevs === undefined ? {} : usbWithDefaults(config)),
  };
}

/**
 * libxl's defaults for a vif added to a running domain (`xl network-attach`): an unset devid is
 * one past the highest of the domain's vifs (`libxl__device_nextid`); the rest as at create.
 */
export function nicWithLibxlDefaults(config: DomainConfig, nic: NicDevice, env: DefaultsEnv = SYSTEM_RANDOM): NicDevice {
  const next = Math.max(-1, ...(config.nics ?? []).map((n) => n.devid ?? -1)) + 1;
  return nicDefaults(nic, next, config.c_info?.type ?? 'pv', env);
}

function nicDefaults(n: NicDevice, index: number, type: string, env: DefaultsEnv): NicDevice {
  return {
    ...n,
    devid: n.devid === undefined || n.devid < 0 ? index : n.devid,
    mac: n.mac === undefined || /^[0:]*$/.test(n.mac) ? generatedMac(env) : n.mac,
    bridge: n.bridge ?? 'xenbr0',
    nictype: n.nictype === undefined || n.nictype === 'unknown' ? (type === 'hvm' ? 'vif_ioemu' : 'vif') : n.nictype,
  };
}

/** `00:16:3e:XX:XX:XX` with three random octets, the first below 0x80 (as libxl). */
function generatedMac(env: DefaultsEnv): string {
  const r = env.randomBytes(3);
  return [...XEN_OUI, (r[0] ?? 0) & 0x7f, r[1] ?? 0, r[2] ?? 0].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The entries of `o` whose values are defined (for spreading into exact optional types). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The device lists of a config, each a kind of device of the domain's machine. */
const DEVICE_LISTS = ['disks', 'nics', 'pcidevs', 'rdms', 'dtdevs', 'vfbs', 'vkbs', 'virtios', 'vtpms', 'p9s', 'pvcallsifs', 'vdispls', 'vsnds', 'channels', 'usbctrls', 'usbdevs'] as const;
/** More devices of one kind than any machine here could have (8 USB controllers of 31 ports is 248). */
const MAX_DEVICES_OF_A_KIND = 256;
/**
 * Disks and vifs together: each but an IDE disk (4 at most) takes one of the PC's 32 PCI slots,
 * a few of which the machine's own devices take (24 disks start, 30 do not).
 */
const MAX_DISKS_AND_VIFS = 64;

/**
 * Refuses a config with more devices than a machine can have, before anything is planned,
 * probed or started for them: 100,000 vifs or 3,000 disks kept dom0d busy for minutes (every
 * other client waiting), where QEMU would refuse the machine in the end.
 */
function checkDeviceCounts(config: DomainConfig): void {
  for (const kind of DEVICE_LISTS) {
    const n = config[kind]?.length ?? 0;
    if (n > MAX_DEVICES_OF_A_KIND) {
      throw new ToolstackError('CFG_VALUE', `Creating the domain failed: it has ${n} ${kind}, more than a machine can have (at most ${MAX_DEVICES_OF_A_KIND})`, { hint: 'give the domain the devices it needs' });
    }
  }
  const slotted = (config.disks?.length ?? 0) + (config.nics?.length ?? 0);
  if (slotted > MAX_DISKS_AND_VIFS) {
    throw new ToolstackError('CFG_VALUE', `Creating the domain failed: it has ${slotted} disks and vifs; QEMU's PC has room for about 30 (a PCI slot each, IDE disks hda-hdd apart)`, {
      hint: 'give fewer disks or vifs (a disk can hold several file systems, a vif carry VLANs)',
    });
  }
}
