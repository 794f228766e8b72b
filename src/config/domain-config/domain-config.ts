/**
 * libxl's device types and `libxl_domain_config` (`libxl_types.idl`) as IDL data (see idl.ts):
 * field names and order, C types and defaults as the IDL gives them. The spec parsers
 * (`../spec/`) build these values; their JSON is `idlToJson`'s.
 */
import {
  ACTIONS, BUILD_INFO, CREATE_INFO, RDM_POLICY, SDL_INFO, VNC_INFO,
} from './domain-info.js';
import {
  arrayOf, bool, defbool, devid, domid, enumOf, f, i32, mac, string, struct, u8, u32, u64, union, uuid,
} from './idl.js';
import type { IdlValue } from './idl.js';

export const DISK_BACKENDS = ['unknown', 'phy', 'tap', 'qdisk', 'standalone'] as const;
const DISK_FORMATS = ['unknown', 'qcow', 'qcow2', 'vhd', 'raw', 'empty', 'qed'] as const;
const VIRTIO_TRANSPORTS = ['unknown', 'mmio'] as const;

/** The COLO string members of `libxl_device_nic`, in IDL order (also their vif-spec keys). */
export const NIC_COLO_KEYS = [
  'colo_sock_mirror_id', 'colo_sock_mirror_ip', 'colo_sock_mirror_port',
  'colo_sock_compare_pri_in_id', 'colo_sock_compare_pri_in_ip', 'colo_sock_compare_pri_in_port',
  'colo_sock_compare_sec_in_id', 'colo_sock_compare_sec_in_ip', 'colo_sock_compare_sec_in_port',
  'colo_sock_compare_notify_id', 'colo_sock_compare_notify_ip', 'colo_sock_compare_notify_port',
  'colo_sock_redirector0_id', 'colo_sock_redirector0_ip', 'colo_sock_redirector0_port',
  'colo_sock_redirector1_id', 'colo_sock_redirector1_ip', 'colo_sock_redirector1_port',
  'colo_sock_redirector2_id', 'colo_sock_redirector2_ip', 'colo_sock_redirector2_port',
  'colo_filter_mirror_queue', 'colo_filter_mirror_outdev',
  'colo_filter_redirector0_queue', 'colo_filter_redirector0_indev', 'colo_filter_redirector0_outdev',
  'colo_filter_redirector1_queue', 'colo_filter_redirector1_indev', 'colo_filter_redirector1_outdev',
  'colo_compare_pri_in', 'colo_compare_sec_in', 'colo_compare_out', 'colo_compare_notify_dev',
  'colo_sock_sec_redirector0_id', 'colo_sock_sec_redirector0_ip', 'colo_sock_sec_redirector0_port',
  'colo_sock_sec_redirector1_id', 'colo_sock_sec_redirector1_ip', 'colo_sock_sec_redirector1_port',
  'colo_filter_sec_redirector0_queue', 'colo_filter_sec_redirector0_indev', 'colo_filter_sec_redirector0_outdev',
  'colo_filter_sec_redirector1_queue', 'colo_filter_sec_redirector1_indev', 'colo_filter_sec_redirector1_outdev',
  'colo_filter_sec_rewriter0_queue', 'colo_checkpoint_host', 'colo_checkpoint_port',
] as const;

/** `libxl_vsnd_pcm_format` names (lower case, as JSON writes them). */
export const VSND_PCM_FORMATS = [
  's8', 'u8', 's16_le', 's16_be', 'u16_le', 'u16_be', 's24_le', 's24_be', 'u24_le', 'u24_be', 's32_le', 's32_be',
  'u32_le', 'u32_be', 'f32_le', 'f32_be', 'f64_le', 'f64_be', 'iec958_subframe_le', 'iec958_subframe_be',
  'mu_law', 'a_law', 'ima_adpcm', 'mpeg', 'gsm',
] as const;

/** The backend every device struct but pci, usb and rdm starts with. */
const backend = { backend_domid: f(domid), backend_domname: f(string) } as const;
const stringFields = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, f(string)])) as { readonly [P in K]: { readonly type: typeof string } };

export const DEVICE_DISK = struct({
  ...backend,
  pdev_path: f(string),
  vdev: f(string),
  backend: f(enumOf(DISK_BACKENDS)),
  format: f(enumOf(DISK_FORMATS)),
  script: f(string),
  removable: f(i32),
  readwrite: f(i32),
  is_cdrom: f(i32),
  direct_io_safe: f(bool),
  discard_enable: f(defbool),
  specification: f(enumOf(['unknown', 'xen', 'virtio'] as const)),
  transport: f(enumOf(VIRTIO_TRANSPORTS)),
  irq: f(u32),
  base: f(u64),
  colo_enable: f(defbool),
  colo_restore_enable: f(defbool),
  colo_host: f(string),
  colo_port: f(i32),
  colo_export: f(string),
  active_disk: f(string),
  hidden_disk: f(string),
  trusted: f(defbool),
  grant_usage: f(defbool),
});

export const DEVICE_NIC = struct({
  ...backend,
  devid: f(devid),
  mtu: f(i32),
  vlan: f(string),
  model: f(string),
  mac: f(mac),
  ip: f(string),
  bridge: f(string),
  ifname: f(string),
  script: f(string),
  nictype: f(enumOf(['unknown', 'vif_ioemu', 'vif'] as const)),
  rate_bytes_per_interval: f(u64),
  rate_interval_usecs: f(u32),
  gatewaydev: f(string),
  coloft_forwarddev: f(string),
  ...stringFields(NIC_COLO_KEYS),
  trusted: f(defbool),
});

export const DEVICE_PCI = struct({
  func: f(u8),
  dev: f(u8),
  bus: f(u8),
  domain: f(i32),
  vdevfn: f(u32),
  vfunc_mask: f(u32),
  msitranslate: f(bool),
  power_mgmt: f(bool),
  permissive: f(bool),
  seize: f(bool),
  rdm_policy: f(RDM_POLICY),
  name: f(string),
});

const DEVICE_RDM = struct({ start: f(u64), size: f(u64), policy: f(RDM_POLICY) });
const DEVICE_DTDEV = struct({ path: f(string) });

export const DEVICE_VFB = struct({ ...backend, devid: f(devid), vnc: f(VNC_INFO), sdl: f(SDL_INFO), keymap: f(string) });

export const DEVICE_VKB = struct({
  ...backend,
  devid: f(devid),
  backend_type: f(enumOf(['unknown', 'qemu', 'linux'] as const)),
  unique_id: f(string),
  feature_disable_keyboard: f(bool),
  feature_disable_pointer: f(bool),
  feature_abs_pointer: f(bool),
  feature_raw_pointer: f(bool),
  feature_multi_touch: f(bool),
  width: f(u32),
  height: f(u32),
  multi_touch_width: f(u32),
  multi_touch_height: f(u32),
  multi_touch_num_contacts: f(u32),
});

export const DEVICE_VIRTIO = struct({
  ...backend,
  type: f(string),
  transport: f(enumOf(VIRTIO_TRANSPORTS)),
  grant_usage: f(defbool),
  devid: f(devid),
  irq: f(u32),
  base: f(u64),
});

export const DEVICE_VTPM = struct({ ...backend, devid: f(devid), uuid: f(uuid) });

export const DEVICE_P9 = struct({
  ...backend,
  tag: f(string),
  path: f(string),
  security_model: f(string),
  devid: f(devid),
  type: f(enumOf(['unknown', 'qemu', 'xen_9pfsd'] as const)),
  max_space: f(i32),
  max_files: f(i32),
  max_open_files: f(i32),
  auto_delete: f(bool),
});

export const DEVICE_PVCALLSIF = struct({ ...backend, devid: f(devid) });

export const DEVICE_VDISPL = struct({
  ...backend,
  devid: f(devid),
  be_alloc: f(bool),
  connectors: f(arrayOf(struct({ unique_id: f(string), width: f(u32), height: f(u32) }))),
});

const VSND_PARAMS = struct({
  sample_rates: f(arrayOf(u32)),
  sample_formats: f(arrayOf(enumOf(VSND_PCM_FORMATS, null))),
  channels_min: f(u32),
  channels_max: f(u32),
  buffer_size: f(u32),
});
const VSND_STREAM = struct({ unique_id: f(string), type: f(enumOf(['p', 'c'] as const, null)), params: f(VSND_PARAMS) });
const VSND_PCM = struct({ name: f(string), params: f(VSND_PARAMS), streams: f(arrayOf(VSND_STREAM)) });

export const DEVICE_VSND = struct({
  ...backend,
  devid: f(devid),
  short_name: f(string),
  long_name: f(string),
  params: f(VSND_PARAMS),
  pcms: f(arrayOf(VSND_PCM)),
});

export const DEVICE_CHANNEL = struct({
  ...backend,
  devid: f(devid),
  name: f(string),
  connection: f(enumOf(['unknown', 'pty', 'socket'] as const), { noJson: true }),
  u: f(union('connection', { unknown: null, pty: null, socket: struct({ path: f(string) }) })),
});

export const DEVICE_USBCTRL = struct({
  type: f(enumOf(['auto', 'pv', 'devicemodel', 'qusb'] as const)),
  devid: f(devid),
  version: f(i32),
  ports: f(i32),
  ...backend,
});

export const DEVICE_USBDEV = struct({
  ctrl: f(devid),
  port: f(i32),
  type: f(enumOf(['hostdev'] as const, null), { noJson: true }),
  u: f(union('type', { hostdev: struct({ hostbus: f(u8), hostaddr: f(u8) }) })),
});

export const DOMAIN_CONFIG = struct({
  c_info: f(CREATE_INFO),
  b_info: f(BUILD_INFO),
  disks: f(arrayOf(DEVICE_DISK)),
  nics: f(arrayOf(DEVICE_NIC)),
  pcidevs: f(arrayOf(DEVICE_PCI)),
  rdms: f(arrayOf(DEVICE_RDM)),
  dtdevs: f(arrayOf(DEVICE_DTDEV)),
  vfbs: f(arrayOf(DEVICE_VFB)),
  vkbs: f(arrayOf(DEVICE_VKB)),
  virtios: f(arrayOf(DEVICE_VIRTIO)),
  vtpms: f(arrayOf(DEVICE_VTPM)),
  p9s: f(arrayOf(DEVICE_P9)),
  pvcallsifs: f(arrayOf(DEVICE_PVCALLSIF)),
  vdispls: f(arrayOf(DEVICE_VDISPL)),
  vsnds: f(arrayOf(DEVICE_VSND)),
  channels: f(arrayOf(DEVICE_CHANNEL)),
  usbctrls: f(arrayOf(DEVICE_USBCTRL)),
  usbdevs: f(arrayOf(DEVICE_USBDEV)),
  on_poweroff: f(enumOf(ACTIONS, 'destroy')),
  on_reboot: f(enumOf(ACTIONS, 'destroy')),
  on_watchdog: f(enumOf(ACTIONS, 'destroy')),
  on_crash: f(enumOf(ACTIONS, 'destroy')),
  on_soft_reset: f(enumOf(ACTIONS, 'destroy')),
});

/** A domain's configuration: `libxl_domain_config`. */
export type DomainConfig = IdlValue<typeof DOMAIN_CONFIG>;
export type DiskDevice = IdlValue<typeof DEVICE_DISK>;
export type NicDevice = IdlValue<typeof DEVICE_NIC>;
export type PciDevice = IdlValue<typeof DEVICE_PCI>;
export type VfbDevice = IdlValue<typeof DEVICE_VFB>;
export type VkbDevice = IdlValue<typeof DEVICE_VKB>;
export type VirtioDevice = IdlValue<typeof DEVICE_VIRTIO>;
export type VtpmDevice = IdlValue<typeof DEVICE_VTPM>;
export type P9Device = IdlValue<typeof DEVICE_P9>;
export type PvcallsDevice = IdlValue<typeof DEVICE_PVCALLSIF>;
export type VdisplDevice = IdlValue<typeof DEVICE_VDISPL>;
export type VsndDevice = IdlValue<typeof DEVICE_VSND>;
export type VsndParams = IdlValue<typeof VSND_PARAMS>;
export type ChannelDevice = IdlValue<typeof DEVICE_CHANNEL>;
export type UsbctrlDevice = IdlValue<typeof DEVICE_USBCTRL>;
export type UsbdevDevice = IdlValue<typeof DEVICE_USBDEV>;
