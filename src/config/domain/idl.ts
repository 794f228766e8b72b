/**
 * libxl's domain configuration types (`libxl_types.idl`), as data. From this one description come
 * the TypeScript shape of `DomainConfig` (`IdlValue<...>`) and its JSON in libxl's shape
 * (`idlToJson`): keys in IDL field order, and a field equal to its default left out, as libxl's
 * generated `*_gen_json` functions do:
 * - aggregates (structs) are always written, possibly empty; a keyed union is written under
 *   `"<keyvar>.<member>"` (`"type.hvm"`), its key variable itself never;
 * - arrays are written when non-empty, every element in full;
 * - integers are left out when equal to their `init` (0 unless the IDL says otherwise), enums
 *   when equal to theirs, strings when unset (an empty string is written), defbools when
 *   `<default>`, bitmaps / string lists / key-value lists when empty,
 *   uuids when all zero.
 *
 * Field lists follow Xen 4.17's IDL (the `xl` this output is checked against), with later
 * fields placed where newer IDLs put them; fields newer than 4.17 are written only when set
 * (`emitWhenSet`), so a config that does not use them prints as 4.17 prints it.
 */

import type { ChannelDevice } from '../spec/channel.js';
import { cpuidToJson } from './cpuid.js';
import type { CpuidPolicy } from './cpuid.js';
import type { DiskDevice } from '../spec/disk.js';
import type { P9Device } from '../spec/p9.js';
import type { PciDevice } from '../spec/pci.js';
import type { UsbctrlDevice, UsbdevDevice } from '../spec/usb.js';
import type { VdisplDevice } from '../spec/vdispl.js';
import type { VfbDevice } from '../spec/vfb.js';
import type { NicDevice } from '../spec/vif.js';
import type { VirtioDevice } from '../spec/virtio.js';
import type { VkbDevice } from '../spec/vkb.js';
import type { VsndDevice } from '../spec/vsnd.js';
import type { PvcallsDevice, VtpmDevice } from '../spec/vtpm.js';

export type IdlType =
  | { readonly k: 'defbool' }
  /** An integer of C type `width` (default `int`): values are stored as C stores them (wrapped). */
  | { readonly k: 'int'; readonly init?: number | bigint; readonly width?: IntWidth }
  | { readonly k: 'string' }
  /** `init`: the default value; absent = the first value (numeric 0); null = none (enums from 1). */
  | { readonly k: 'enum'; readonly values: readonly string[]; readonly init?: string | null }
  | { readonly k: 'bitmap' }
  | { readonly k: 'uuid' }
  /** A fixed-size byte array (`libxl_ms_vm_genid`): written as an array of numbers unless all zero. */
  | { readonly k: 'bytes' }
  | { readonly k: 'string_list' }
  | { readonly k: 'kv_list' }
  | { readonly k: 'opaque' }
  /** `libxl_cpuid_policy_list` (see cpuid.ts). */
  | { readonly k: 'cpuid' }
  | { readonly k: 'array'; readonly of: IdlType }
  | { readonly k: 'struct'; readonly fields: IdlFields }
  | { readonly k: 'union'; readonly keyvar: string; readonly members: Readonly<Record<string, IdlStruct | null>> };

export type IntWidth = 'i32' | 'u8' | 'u16' | 'u32' | 'u64';

export interface IdlField {
  readonly type: IdlType;
  /** Not part of the JSON (a keyed union's key variable). */
  readonly noJson?: boolean;
  /** A field newer than Xen 4.17: an aggregate written only when it has content. */
  readonly emitWhenSet?: boolean;
}
export type IdlFields = Readonly<Record<string, IdlField>>;
export type IdlStruct = { readonly k: 'struct'; readonly fields: IdlFields };

const f = <T extends IdlType>(type: T, extra: Omit<IdlField, 'type'> = {}): { readonly type: T } & Omit<IdlField, 'type'> => ({ type, ...extra });
const defbool = { k: 'defbool' } as const;
const int = { k: 'int' } as const;
const string = { k: 'string' } as const;
const bitmap = { k: 'bitmap' } as const;
const uuid = { k: 'uuid' } as const;
const bytes = { k: 'bytes' } as const;
const stringList = { k: 'string_list' } as const;
const kvList = { k: 'kv_list' } as const;
const opaque = { k: 'opaque' } as const;
const intInit = (init: number | bigint, width?: IntWidth) => ({ k: 'int', init, ...(width === undefined ? {} : { width }) }) as const;
const u32 = { k: 'int', width: 'u32' } as const;
const u64 = { k: 'int', width: 'u64' } as const;
const u16 = { k: 'int', width: 'u16' } as const;
const enumOf = <V extends readonly string[]>(values: V, init?: V[number] | null) =>
  ({ k: 'enum', values, ...(init === undefined ? {} : { init }) }) as { readonly k: 'enum'; readonly values: V; readonly init?: string | null };
const arrayOf = <T extends IdlType>(of: T) => ({ k: 'array', of }) as const;
const struct = <F extends IdlFields>(fields: F) => ({ k: 'struct', fields }) as const;

/** `LIBXL_MEMKB_DEFAULT` (~0ULL): MemKB fields left unset. */
export const MEMKB_DEFAULT = 0xffffffffffffffffn;
const memkb = intInit(MEMKB_DEFAULT, 'u64');
/** `LIBXL_MAX_GRANT_DEFAULT` as the uint32 fields hold it. */
const MAX_GRANT_DEFAULT_U32 = 0xffffffff;

export const DOMAIN_TYPES = ['hvm', 'pv', 'pvh'] as const;
export const ACTIONS = ['destroy', 'restart', 'restart_rename', 'preserve', 'coredump_destroy', 'coredump_restart', 'soft_reset'] as const;
export const TSC_MODES = ['default', 'always_emulate', 'native', 'native_paravirt'] as const;
export const TIMER_MODES = ['unknown', 'delay_for_missed_ticks', 'no_delay_for_missed_ticks', 'no_missed_ticks_pending', 'one_missed_tick_pending'] as const;
export const BIOS_TYPES = ['unknown', 'rombios', 'seabios', 'ovmf'] as const;
export const VGA_KINDS = ['unknown', 'cirrus', 'std', 'none', 'qxl'] as const;
export const HDTYPES = ['ide', 'ahci'] as const;
export const PASSTHROUGH = ['default', 'disabled', 'enabled', 'sync_pt', 'share_pt'] as const;
export const ALTP2M_MODES = ['disabled', 'mixed', 'external', 'limited'] as const;
export const GFX_PASSTHRU_KINDS = ['default', 'igd'] as const;
export const VENDOR_DEVICES = ['none', 'xenserver'] as const;
export const RDM_STRATEGIES = ['ignore', 'host'] as const;
export const RDM_POLICIES = ['invalid', 'strict', 'relaxed'] as const;
export const DEVICE_MODEL_VERSIONS = ['unknown', 'qemu_xen_traditional', 'qemu_xen'] as const;
export const SCHEDULERS = ['unknown', 'sedf', 'credit', 'credit2', 'arinc653', 'rtds', 'null'] as const;
export const TEE_TYPES = ['none', 'optee', 'ffa'] as const;
export const GIC_VERSIONS = ['default', 'v2', 'v3'] as const;
export const VUART_TYPES = ['unknown', 'sbsa_uart'] as const;
export const SVE_TYPES = ['hw', 'disabled', '128', '256', '384', '512', '640', '768', '896', '1024', '1152', '1280', '1408', '1536', '1664', '1792', '1920', '2048'] as const;
export const SMBIOS_TYPES = [
  'bios_vendor', 'bios_version', 'system_manufacturer', 'system_product_name', 'system_version',
  'system_serial_number', 'baseboard_manufacturer', 'baseboard_product_name', 'baseboard_version',
  'baseboard_serial_number', 'baseboard_asset_tag', 'baseboard_location_in_chassis',
  'enclosure_manufacturer', 'enclosure_serial_number', 'enclosure_asset_tag', 'battery_manufacturer',
  'battery_device_name', 'oem',
] as const;

const vncInfo = struct({
  enable: f(defbool), listen: f(string), passwd: f(string), display: f(int), findunused: f(defbool),
});
const sdlInfo = struct({ enable: f(defbool), opengl: f(defbool), display: f(string), xauthority: f(string) });
const spiceInfo = struct({
  enable: f(defbool), port: f(int), tls_port: f(int), host: f(string), disable_ticketing: f(defbool),
  passwd: f(string), agent_mouse: f(defbool), vdagent: f(defbool), clipboard_sharing: f(defbool),
  usbredirection: f(int), image_compression: f(string), streaming_video: f(string),
});

export const CREATE_INFO = struct({
  type: f(enumOf(DOMAIN_TYPES, null)),
  hap: f(defbool),
  oos: f(defbool),
  ssidref: f(u32),
  ssid_label: f(string),
  name: f(string),
  domid: f(int),
  uuid: f(uuid),
  xsdata: f(kvList),
  platformdata: f(kvList),
  poolid: f(u32),
  pool_name: f(string),
  run_hotplug_scripts: f(defbool),
  driver_domain: f(defbool),
  passthrough: f(enumOf(PASSTHROUGH)),
  xend_suspend_evtchn_compat: f(defbool),
});

const HVM_INFO = struct({
  firmware: f(string),
  bios: f(enumOf(BIOS_TYPES)),
  pae: f(defbool),
  apic: f(defbool),
  acpi: f(defbool),
  acpi_s3: f(defbool),
  acpi_s4: f(defbool),
  acpi_laptop_slate: f(defbool),
  nx: f(defbool),
  viridian: f(defbool),
  viridian_enable: f(bitmap),
  viridian_disable: f(bitmap),
  timeoffset: f(string),
  hpet: f(defbool),
  vpt_align: f(defbool),
  mmio_hole_memkb: f(memkb),
  timer_mode: f(enumOf(TIMER_MODES, 'unknown')),
  nested_hvm: f(defbool),
  altp2m: f(defbool),
  system_firmware: f(string),
  smbios_firmware: f(string),
  smbios: f(arrayOf(struct({ key: f(enumOf(SMBIOS_TYPES, null)), value: f(string) }))),
  acpi_firmware: f(string),
  hdtype: f(enumOf(HDTYPES)),
  nographic: f(defbool),
  vga: f(struct({ kind: f(enumOf(VGA_KINDS)) })),
  vnc: f(vncInfo),
  keymap: f(string),
  sdl: f(sdlInfo),
  spice: f(spiceInfo),
  gfx_passthru: f(defbool),
  gfx_passthru_kind: f(enumOf(GFX_PASSTHRU_KINDS)),
  serial: f(string),
  boot: f(string),
  usb: f(defbool),
  usbversion: f(int),
  usbdevice: f(string),
  vkb_device: f(defbool),
  soundhw: f(string),
  xen_platform_pci: f(defbool),
  xen_platform_pci_bar_uc: f(defbool),
  usbdevice_list: f(stringList),
  vendor_device: f(enumOf(VENDOR_DEVICES)),
  ms_vm_genid: f(bytes),
  serial_list: f(stringList),
  rdm: f(struct({ strategy: f(enumOf(RDM_STRATEGIES)), policy: f(enumOf(RDM_POLICIES, 'invalid')) })),
  rdm_mem_boundary_memkb: f(memkb),
  mca_caps: f(u64),
  pirq: f(defbool),
});

const PV_INFO = struct({
  kernel: f(string),
  slack_memkb: f(memkb),
  bootloader: f(string),
  bootloader_args: f(stringList),
  cmdline: f(string),
  ramdisk: f(string),
  e820_host: f(defbool),
});

const PVH_INFO = struct({
  pvshim: f(defbool), pvshim_path: f(string), pvshim_cmdline: f(string), pvshim_extra: f(string),
});

export const BUILD_INFO = struct({
  max_vcpus: f(int),
  avail_vcpus: f(bitmap),
  cpumap: f(bitmap),
  nodemap: f(bitmap),
  vcpu_hard_affinity: f(arrayOf(bitmap)),
  vcpu_soft_affinity: f(arrayOf(bitmap)),
  numa_placement: f(defbool),
  tsc_mode: f(enumOf(TSC_MODES)),
  max_memkb: f(memkb),
  target_memkb: f(memkb),
  video_memkb: f(memkb),
  shadow_memkb: f(memkb),
  iommu_memkb: f(memkb),
  rtc_timeoffset: f(u32),
  exec_ssidref: f(u32),
  exec_ssid_label: f(string),
  localtime: f(defbool),
  disable_migrate: f(defbool),
  cpuid: f({ k: 'cpuid' } as const),
  blkdev_start: f(string),
  vnuma_nodes: f(arrayOf(struct({
    memkb: f(memkb), distances: f(arrayOf(u32)), pnode: f(u32), vcpus: f(bitmap),
  }))),
  max_grant_frames: f(intInit(MAX_GRANT_DEFAULT_U32, 'u32')),
  max_maptrack_frames: f(intInit(MAX_GRANT_DEFAULT_U32, 'u32')),
  max_grant_version: f(intInit(-1)),
  device_model_version: f(enumOf(DEVICE_MODEL_VERSIONS)),
  device_model_stubdomain: f(defbool),
  stubdomain_memkb: f(memkb),
  stubdomain_kernel: f(string),
  stubdomain_cmdline: f(string),
  stubdomain_ramdisk: f(string),
  device_model: f(string),
  device_model_ssidref: f(u32),
  device_model_ssid_label: f(string),
  device_model_user: f(string),
  extra: f(stringList),
  extra_pv: f(stringList),
  extra_hvm: f(stringList),
  sched_params: f(struct({
    sched: f(enumOf(SCHEDULERS)),
    weight: f(intInit(-1)),
    cap: f(intInit(-1)),
    period: f(intInit(-1)),
    budget: f(intInit(-1)),
    extratime: f(intInit(-1)),
    slice: f(intInit(-1)),
    latency: f(intInit(-1)),
  })),
  ioports: f(arrayOf(struct({ first: f(u32), number: f(u32) }))),
  irqs: f(arrayOf(u32)),
  iomem: f(arrayOf(struct({ start: f(u64), number: f(u64), gfn: f(intInit(MEMKB_DEFAULT, 'u64')) }))),
  llc_colors: f(arrayOf(u32)),
  claim_mode: f(defbool),
  event_channels: f(u32),
  kernel: f(string),
  cmdline: f(string),
  ramdisk: f(string),
  device_tree: f(string),
  acpi: f(defbool),
  bootloader: f(string),
  bootloader_args: f(stringList),
  bootloader_restrict: f(defbool),
  bootloader_user: f(string),
  timer_mode: f(enumOf(TIMER_MODES, 'unknown')),
  nested_hvm: f(defbool),
  apic: f(defbool),
  dm_restrict: f(defbool),
  tee: f(enumOf(TEE_TYPES)),
  type: f(enumOf(DOMAIN_TYPES, null), { noJson: true }),
  u: f({ k: 'union', keyvar: 'type', members: { hvm: HVM_INFO, pv: PV_INFO, pvh: PVH_INFO } } as const),
  arch_arm: f(struct({
    gic_version: f(enumOf(GIC_VERSIONS)), vuart: f(enumOf(VUART_TYPES)), sve_vl: f(enumOf(SVE_TYPES, 'disabled')),
    nr_spis: f(u32),
  })),
  arch_x86: f(struct({ msr_relaxed: f(defbool) })),
  altp2m: f(enumOf(ALTP2M_MODES)),
  altp2m_count: f(u16),
  vmtrace_buf_kb: f(int),
  vpmu: f(defbool),
  trap_unmapped_accesses: f(defbool),
  xenstore_feature_mask: f(intInit(0xffffffff, 'u32')),
  xenstore_quota: f(struct({ quota: f(arrayOf(struct({ name: f(string), val: f(u32) }))) }), { emitWhenSet: true }),
});

/**
 * `libxl_domain_config`. The devices whose spec strings `../spec/` parses are `opaque` here:
 * their objects and JSON are the spec parsers' (see `DEVICE_JSON` in resolve.ts).
 */
export const DOMAIN_CONFIG = struct({
  c_info: f(CREATE_INFO),
  b_info: f(BUILD_INFO),
  disks: f(opaque),
  nics: f(opaque),
  pcidevs: f(opaque),
  rdms: f(arrayOf(struct({ start: f(u64), size: f(u64), policy: f(enumOf(RDM_POLICIES, 'invalid')) }))),
  dtdevs: f(arrayOf(struct({ path: f(string) }))),
  vfbs: f(opaque),
  vkbs: f(opaque),
  virtios: f(opaque),
  vtpms: f(opaque),
  p9s: f(opaque),
  pvcallsifs: f(opaque),
  vdispls: f(opaque),
  vsnds: f(opaque),
  channels: f(opaque),
  usbctrls: f(opaque),
  usbdevs: f(opaque),
  on_poweroff: f(enumOf(ACTIONS, 'destroy')),
  on_reboot: f(enumOf(ACTIONS, 'destroy')),
  on_watchdog: f(enumOf(ACTIONS, 'destroy')),
  on_crash: f(enumOf(ACTIONS, 'destroy')),
  on_soft_reset: f(enumOf(ACTIONS, 'destroy')),
});

/** The TypeScript value of an IDL type: every struct field optional (absent = libxl's default). */
export type IdlValue<T> =
  T extends { k: 'defbool' } ? boolean
    : T extends { k: 'int' } ? number | bigint
      : T extends { k: 'string' | 'uuid' } ? string
        : T extends { k: 'enum'; values: readonly (infer V)[] } ? V
          : T extends { k: 'bitmap' | 'bytes' } ? number[]
            : T extends { k: 'string_list' } ? string[]
              : T extends { k: 'kv_list' } ? Record<string, string>
                : T extends { k: 'opaque' } ? unknown
                  : T extends { k: 'cpuid' } ? CpuidPolicy
                  : T extends { k: 'array'; of: infer O } ? Array<IdlValue<O>>
                    : T extends { k: 'struct'; fields: infer F } ? IdlStructValue<F>
                      : T extends { k: 'union'; members: infer M } ? { -readonly [K in keyof M]?: M[K] extends null ? Record<string, never> : IdlValue<M[K]> }
                        : never;
export type IdlStructValue<F> = { -readonly [K in keyof F]?: F[K] extends { type: infer T } ? IdlValue<T> : never };

/** A JSON value as libxl's generator writes it; `bigint` for 64-bit integers beyond 2^53. */
export type LibxlJsonValue = string | number | bigint | boolean | null | LibxlJsonValue[] | { [key: string]: LibxlJsonValue };

/** `v` as a C integer of `width` holds it (assignment from a C long wraps). */
function cInt(width: IntWidth | undefined, v: number | bigint): bigint {
  if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff && Number.isInteger(v) && width !== 'u8' && width !== 'u16') return BigInt(v);
  const b = BigInt(v);
  switch (width ?? 'i32') {
    case 'i32': return BigInt.asIntN(32, b);
    case 'u8': return BigInt.asUintN(8, b);
    case 'u16': return BigInt.asUintN(16, b);
    case 'u32': return BigInt.asUintN(32, b);
    case 'u64': return BigInt.asUintN(64, b);
  }
}

function isDefault(t: IdlType, v: unknown): boolean {
  if (v === undefined) return true;
  switch (t.k) {
    case 'int':
      if (v === (t.init ?? 0)) return true;
      return cInt(t.width, v as number | bigint) === cInt(t.width, t.init ?? 0);
    case 'enum': return t.init === undefined ? v === t.values[0] : v === t.init;
    case 'bitmap': case 'string_list': case 'array': return (v as unknown[]).length === 0;
    case 'bytes': return (v as number[]).every((b) => b === 0);
    case 'kv_list': return Object.keys(v as object).length === 0;
    case 'cpuid': return (v as CpuidPolicy).cpuid.length + (v as CpuidPolicy).msr.length === 0;
    case 'uuid': return /^[0-]+$/.test(v as string);
    default: return false;
  }
}

function valueToJson(t: IdlType, v: unknown): LibxlJsonValue {
  switch (t.k) {
    case 'defbool': return v ? 'True' : 'False';
    case 'int': {
      if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff && Number.isInteger(v) && t.width !== 'u8' && t.width !== 'u16') return v;
      const n = cInt(t.width, v as number | bigint);
      return n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n;
    }
    case 'string': case 'uuid': return v as string;
    case 'enum': return v as string | null;
    case 'bitmap': case 'string_list': case 'bytes': return [...(v as Array<number | string>)];
    case 'kv_list': return { ...(v as Record<string, string>) };
    case 'opaque': return v as LibxlJsonValue;
    case 'cpuid': return cpuidToJson(v as CpuidPolicy) as { [key: string]: LibxlJsonValue };
    case 'array': return (v as unknown[]).map((e) => valueToJson(t.of, e));
    case 'struct': return structToJson(t.fields, (v ?? {}) as Record<string, unknown>);
    case 'union': throw new Error('a keyed union is written by its struct');
  }
}

function structToJson(fields: IdlFields, v: Record<string, unknown>): { [key: string]: LibxlJsonValue } {
  const out: { [key: string]: LibxlJsonValue } = {};
  for (const [name, field] of Object.entries(fields)) {
    if (field.noJson === true) continue;
    const t = field.type;
    const fv = v[name];
    if (t.k === 'union') {
      const member = v[t.keyvar];
      if (typeof member !== 'string' || !(member in t.members)) continue;
      const ms = t.members[member];
      const mv = (fv as Record<string, unknown> | undefined)?.[member] ?? {};
      out[`${t.keyvar}.${member}`] = ms === null || ms === undefined ? {} : structToJson(ms.fields, mv as Record<string, unknown>);
      continue;
    }
    if (t.k === 'struct') {
      const sv = structToJson(t.fields, (fv ?? {}) as Record<string, unknown>);
      if (field.emitWhenSet === true && Object.keys(sv).length === 0) continue;
      out[name] = sv;
      continue;
    }
    if (isDefault(t, fv)) continue;
    out[name] = valueToJson(t, fv);
  }
  return out;
}

/** The JSON object libxl's `libxl_<type>_to_json` writes for a value of struct type `s`. */
export function idlToJson(s: IdlStruct, value: object): { [key: string]: LibxlJsonValue } {
  return structToJson(s.fields, value as Record<string, unknown>);
}

/** The device lists of a DomainConfig, as the spec parsers make them. */
export interface DomainDevices {
  disks?: DiskDevice[];
  nics?: NicDevice[];
  pcidevs?: PciDevice[];
  vfbs?: VfbDevice[];
  vkbs?: VkbDevice[];
  virtios?: VirtioDevice[];
  vtpms?: VtpmDevice[];
  p9s?: P9Device[];
  pvcallsifs?: PvcallsDevice[];
  vdispls?: VdisplDevice[];
  vsnds?: VsndDevice[];
  channels?: ChannelDevice[];
  usbctrls?: UsbctrlDevice[];
  usbdevs?: UsbdevDevice[];
}

/** A domain's configuration: `libxl_domain_config`, typed from the IDL above. */
export type DomainConfig = Omit<IdlValue<typeof DOMAIN_CONFIG>, keyof DomainDevices> & DomainDevices;
