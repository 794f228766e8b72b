/**
 * libxl's `libxl_domain_create_info` and `libxl_domain_build_info` (`libxl_types.idl`) as IDL
 * data (see idl.ts), with the enumerations and info structs they use.
 *
 * Field lists follow Xen 4.17's IDL (the `xl` this output is checked against), with later
 * fields placed where newer IDLs put them; fields newer than 4.17 are written only when set
 * (`emitWhenSet`), so a config that does not use them prints as 4.17 prints it.
 */
import {
  arrayOf, bitmap, bytes, cpuid, defbool, enumOf, f, i32, int, kvList, memkb, string, stringList, struct, u16, u32, u64, union, uuid,
} from './idl.js';

/** `LIBXL_DOMAIN_SCHED_PARAM_*_DEFAULT`. */
const SCHED_PARAM_DEFAULT = int('i32', -1);
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
/** `libxl_rdm_reserve_policy` (b_info's, each pci device's, each rdm's). */
export const RDM_POLICY = enumOf(RDM_POLICIES, 'invalid');
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

/** `libxl_vnc_info` (HVM's and each vfb's). */
export const VNC_INFO = struct({
  enable: f(defbool), listen: f(string), passwd: f(string), display: f(i32), findunused: f(defbool),
});
/** `libxl_sdl_info` (HVM's and each vfb's). */
export const SDL_INFO = struct({ enable: f(defbool), opengl: f(defbool), display: f(string), xauthority: f(string) });
const SPICE_INFO = struct({
  enable: f(defbool), port: f(i32), tls_port: f(i32), host: f(string), disable_ticketing: f(defbool),
  passwd: f(string), agent_mouse: f(defbool), vdagent: f(defbool), clipboard_sharing: f(defbool),
  usbredirection: f(i32), image_compression: f(string), streaming_video: f(string),
});

export const CREATE_INFO = struct({
  type: f(enumOf(DOMAIN_TYPES, null)),
  hap: f(defbool),
  oos: f(defbool),
  ssidref: f(u32),
  ssid_label: f(string),
  name: f(string),
  domid: f(i32),
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
  vnc: f(VNC_INFO),
  keymap: f(string),
  sdl: f(SDL_INFO),
  spice: f(SPICE_INFO),
  gfx_passthru: f(defbool),
  gfx_passthru_kind: f(enumOf(GFX_PASSTHRU_KINDS)),
  serial: f(string),
  boot: f(string),
  usb: f(defbool),
  usbversion: f(i32),
  usbdevice: f(string),
  vkb_device: f(defbool),
  soundhw: f(string),
  xen_platform_pci: f(defbool),
  xen_platform_pci_bar_uc: f(defbool),
  usbdevice_list: f(stringList),
  vendor_device: f(enumOf(VENDOR_DEVICES)),
  ms_vm_genid: f(bytes(16)),
  serial_list: f(stringList),
  rdm: f(struct({ strategy: f(enumOf(RDM_STRATEGIES)), policy: f(RDM_POLICY) })),
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
  max_vcpus: f(i32),
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
  cpuid: f(cpuid),
  blkdev_start: f(string),
  vnuma_nodes: f(arrayOf(struct({
    memkb: f(memkb), distances: f(arrayOf(u32)), pnode: f(u32), vcpus: f(bitmap),
  }))),
  max_grant_frames: f(int('u32', MAX_GRANT_DEFAULT_U32)),
  max_maptrack_frames: f(int('u32', MAX_GRANT_DEFAULT_U32)),
  max_grant_version: f(int('i32', -1)),
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
    weight: f(SCHED_PARAM_DEFAULT),
    cap: f(SCHED_PARAM_DEFAULT),
    period: f(SCHED_PARAM_DEFAULT),
    budget: f(SCHED_PARAM_DEFAULT),
    extratime: f(SCHED_PARAM_DEFAULT),
    slice: f(SCHED_PARAM_DEFAULT),
    latency: f(SCHED_PARAM_DEFAULT),
  })),
  ioports: f(arrayOf(struct({ first: f(u32), number: f(u32) }))),
  irqs: f(arrayOf(u32)),
  iomem: f(arrayOf(struct({ start: f(u64), number: f(u64), gfn: f(int('u64', 0xffffffffffffffffn)) }))),
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
  u: f(union('type', { hvm: HVM_INFO, pv: PV_INFO, pvh: PVH_INFO })),
  arch_arm: f(struct({
    gic_version: f(enumOf(GIC_VERSIONS)), vuart: f(enumOf(VUART_TYPES)), sve_vl: f(enumOf(SVE_TYPES, 'disabled')),
    nr_spis: f(u32),
  })),
  arch_x86: f(struct({ msr_relaxed: f(defbool) })),
  altp2m: f(enumOf(ALTP2M_MODES)),
  altp2m_count: f(u16),
  vmtrace_buf_kb: f(i32),
  vpmu: f(defbool),
  trap_unmapped_accesses: f(defbool),
  xenstore_feature_mask: f(int('u32', 0xffffffff)),
  xenstore_quota: f(struct({ quota: f(arrayOf(struct({ name: f(string), val: f(u32) }))) }), { emitWhenSet: true }),
});
