/**
 * Network interfaces, consoles (PV console, serial ports, channels), USB, sound and 9p shares,
 * and the config items that have no QEMU counterpart here.
 *
 * Consoles: every console the toolstack reads is a chardev `socket,server=on,wait=off` at the
 * path the runtime gives for its id (`logfile=` when given, so no byte is lost while nobody is
 * connected). Ids: `console0` = the PV console (virtconsole, the guest's hvc0); `serial<N>` =
 * COM<N+1> of an HVM guest (`serial='pty'`); `channel<devid>` = a `channel=` with
 * `connection=pty` (a virtserialport named as the channel); `debug0` = the debug port 0xe9 every
 * guest has (`isa-debugcon`, what Xen prints as `(dN)` lines in `xl dmesg`). `argvRequirements`
 * lists them.
 *
 * NICs: `-netdev tap,id=net<devid>,ifname=<tap>,script=no,downscript=no` on a tap the network
 * layer made, and the device `vif<devid>` with the MAC.
 */
import { BugError, own } from '../../common/index.js';
import type { DomainConfig, NicDevice } from '../../config/index.js';
import type { Guest } from './guest.js';
import { devidOf, num } from './guest.js';
import type { Argv } from './options.js';
import { opts, unsupported } from './options.js';
import { fdSetOf, withSerialPath } from './serial.js';
import type { ArgvCapabilities, ConsoleRequirement, NicRuntime } from './types.js';

/** Xen's NIC model names that are no QEMU device name or alias. */
const NIC_MODELS: Readonly<Record<string, string>> = { virtio: 'virtio-net-pci' };
const DEFAULT_HVM_NIC = 'rtl8139';

function nicKey(n: NicDevice): string {
  return n.model === undefined ? `devid=${n.devid ?? -1}` : `model=${n.model}`;
}

/** The QEMU device of a vif: virtio for PV/PVH and for HVM `type=vif`, else the emulated model. */
function nicDevice(caps: ArgvCapabilities, type: string, n: NicDevice): string {
  if (type !== 'hvm' || n.nictype === 'vif') return 'virtio-net-pci';
  const model = n.model ?? DEFAULT_HVM_NIC;
  const dev = own(NIC_MODELS, model) ?? model;
  const known = caps.devices.find((d) => (d.name === dev || d.alias === dev) && d.category === 'Network devices' && d.bus === 'PCI');
  if (known === undefined) {
    const offered = caps.devices.filter((d) => d.category === 'Network devices' && d.bus === 'PCI').map((d) => d.name);
    throw unsupported('vif', nicKey(n), `'${model}' is not a PCI network device of this QEMU`, `models: ${offered.join(', ')}`);
  }
  return known.name;
}

/**
 * How one vif is wired into QEMU, the same at boot (`-netdev`, `-device`) and for hot-plug (QMP
 * `netdev_add`, `device_add`): netdev `net<devid>` on the tap the network layer made, device
 * `vif<devid>` with the MAC.
 */
export interface NicWiring {
  readonly netdev: { readonly type: 'tap'; readonly id: string; readonly ifname: string; readonly script: 'no'; readonly downscript: 'no' };
  readonly device: { readonly driver: string; readonly id: string; readonly [prop: string]: string | number | boolean | undefined };
}

/** The wiring of vif `n` (the `index`th of `config`) on `tap`; `mac` when the config has none. */
export function nicWiring(caps: ArgvCapabilities, config: DomainConfig, n: NicDevice, index: number, host: NicRuntime): NicWiring {
  const type = config.c_info?.type ?? 'pv';
  const be = n.backend_domname;
  if (be !== undefined && be !== '0' && be !== 'Domain-0') throw unsupported('vif', `backend=${be}`, 'driver domains do not exist on QEMU', 'remove backend=');
  const mac = n.mac !== undefined && !/^[0:]*$/.test(n.mac) ? n.mac : host.mac;
  if (mac === undefined) throw new BugError(`argv: vif ${index} has no MAC in the config nor in runtime.nics`);
  const devid = devidOf(n, index);
  const mtu = n.mtu ?? 0;
  const driver = nicDevice(caps, type, n);
  return {
    netdev: { type: 'tap', id: `net${devid}`, ifname: host.tap, script: 'no', downscript: 'no' },
    device: {
      driver,
      id: `vif${devid}`,
      netdev: `net${devid}`,
      mac,
      host_mtu: driver === 'virtio-net-pci' && mtu > 0 && mtu !== 1500 ? mtu : undefined,
      // Direct kernel boot never runs a NIC option ROM; skipping it also spares the ROM files.
      romfile: type !== 'hvm' ? '' : undefined,
    },
  };
}

export function nics(a: Argv, g: Guest): void {
  const rt = a.env.runtime;
  (g.config.nics ?? []).forEach((n, i) => {
    const host = rt.nics[i];
    if (host === undefined) throw new BugError(`argv: runtime.nics[${i}] is missing (see argvRequirements)`);
    const { netdev, device } = nicWiring(a.env.caps, g.config, n, i, host);
    const { type, ...tap } = netdev;
    a.push('-netdev', opts(type, tap));
    const { driver, ...props } = device;
    a.device(driver, props, 'vif', nicKey(n));
  });
}

/**
 * HVM `serial=`: one string or a list. `pty` is ours (a console chardev); any other item is QEMU's
 * `-serial` syntax, as xl passes it: given to QEMU as it is once `parseSerial` has read it as QEMU will,
 * but for a host path dom0d holds open for QEMU (`runtime.hostPaths`).
 */
function serialList(g: Guest): string[] {
  const h = g.hvm;
  return h.serial_list ?? (h.serial === undefined ? [] : [h.serial]);
}

/** The console chardevs of a config: what the runtime must give a socket for. */
export function consoleRequirements(g: Guest): ConsoleRequirement[] {
  const out: ConsoleRequirement[] = [];
  if (g.type !== 'hvm') out.push({ id: 'console0', kind: 'pv', index: 0 });
  serialList(g).forEach((s, i) => {
    if (s === 'pty') out.push({ id: `serial${i}`, kind: 'serial', index: i });
  });
  for (const [i, c] of (g.config.channels ?? []).entries()) {
    const devid = devidOf(c, i);
    if (c.connection === 'pty') out.push({ id: `channel${devid}`, kind: 'channel', index: devid, ...(c.name === undefined ? {} : { name: c.name }) });
  }
  out.push({ id: 'debug0', kind: 'debug', index: 0 });
  return out;
}

function consoleChardev(a: Argv, id: string): void {
  const ep = a.env.runtime.consoles[id];
  if (ep === undefined) throw new BugError(`argv: runtime.consoles['${id}'] is missing (see argvRequirements)`);
  a.push('-chardev', opts('socket', {
    id, path: ep.socket, server: true, wait: false,
    logfile: ep.logFile, logappend: ep.logFile === undefined ? undefined : true,
  }));
}

/** The I/O port whose bytes Xen prints as a guest's debug output (HVM guests' `outb 0xe9`). */
const XEN_DEBUG_PORT = '0xe9';

const MAX_SERIALS = 4;

/** Ports of a virtio-serial bus for channels: QEMU's 31 but port 0, the console's. */
const MAX_CHANNELS = 30;

export function consoles(a: Argv, g: Guest): void {
  const channels = g.config.channels ?? [];
  if (channels.length > MAX_CHANNELS) {
    throw unsupported('channel', `${channels.length} channels`, `a virtio-serial bus has ${MAX_CHANNELS} ports for channels`, `give at most ${MAX_CHANNELS}`);
  }
  if (g.type !== 'hvm' || channels.length > 0) a.device('virtio-serial-pci', { id: 'vserial0' }, 'type', g.type);
  if (g.type !== 'hvm') {
    consoleChardev(a, 'console0');
    a.device('virtconsole', { id: 'hvc0', bus: 'vserial0.0', nr: 0, chardev: 'console0' }, 'type', g.type);
  }
  for (const [i, c] of channels.entries()) {
    const devid = devidOf(c, i);
    const id = `channel${devid}`;
    if (c.name === undefined) throw unsupported('channel', `devid=${devid}`, 'a channel needs a name', 'add name=..., e.g. name=org.qemu.guest_agent.0');
    if (c.connection === 'pty') consoleChardev(a, id);
    else {
      const path = c.connection === 'socket' ? c.u?.socket?.path : undefined;
      if (path === undefined) throw unsupported('channel', `name=${c.name}`, 'a channel is connection=pty, or connection=socket with a path', 'give connection=pty, or connection=socket and path=...');
      a.push('-chardev', opts('socket', { id, path: a.env.runtime.hostPaths?.get(path) ?? path, server: true, wait: false }));
    }
    a.device('virtserialport', { id, bus: 'vserial0.0', chardev: id, name: c.name }, 'channel', `name=${c.name}`);
  }
  consoleChardev(a, 'debug0');
  a.device('isa-debugcon', { id: 'debugcon0', iobase: XEN_DEBUG_PORT, chardev: 'debug0' }, 'type', g.type);
  const serials = serialList(g);
  if (serials.length > MAX_SERIALS) throw unsupported('serial', serials.join(','), `a PC has ${MAX_SERIALS} serial ports`, `give at most ${MAX_SERIALS}`);
  serials.forEach((s, i) => {
    if (s === 'pty') {
      consoleChardev(a, `serial${i}`);
      a.push('-serial', `chardev:serial${i}`);
    } else {
      const path = withSerialPath(s, a.env.runtime.hostPaths);
      const set = fdSetOf(path);
      if (set !== undefined) a.push('-add-fd', `fd=${set},set=${set}`);
      a.push('-serial', path);
    }
  });
}

/** `usbdevice=` names → USB devices; `host:BUS.ADDR` / `host:VID:PID` pass a host device through. */
const USB_DEVICES: Readonly<Record<string, string>> = { tablet: 'usb-tablet', mouse: 'usb-mouse', keyboard: 'usb-kbd' };

/** HVM USB: `usb=1` or any `usbdevice` → a UHCI controller (EHCI for usbversion=2, xHCI for 3). */
export function usb(a: Argv, g: Guest): void {
  const h = g.hvm;
  const devices = h.usbdevice_list ?? (h.usbdevice === undefined ? [] : [h.usbdevice]);
  const version = num(h.usbversion) ?? 0;
  if (h.usb !== true && devices.length === 0 && version === 0) return;
  const controller = { 0: 'piix3-usb-uhci', 1: 'piix3-usb-uhci', 2: 'usb-ehci', 3: 'qemu-xhci' }[version];
  if (controller === undefined) throw unsupported('usbversion', version, 'USB versions are 1, 2 and 3', 'usbversion=1, 2 or 3');
  a.device(controller, { id: 'usb' }, version === 0 ? 'usb' : 'usbversion', version === 0 ? 1 : version);
  devices.forEach((name, i) => {
    const id = `usbdev${i}`;
    const simple = own(USB_DEVICES, name);
    if (simple !== undefined) {
      a.device(simple, { id, bus: 'usb.0' }, 'usbdevice', name);
      return;
    }
    const busAddr = /^host:(\d+)\.(\d+)$/.exec(name);
    const vidPid = /^host:([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$/.exec(name);
    if (busAddr !== null) a.device('usb-host', { id, bus: 'usb.0', hostbus: Number(busAddr[1]), hostaddr: Number(busAddr[2]) }, 'usbdevice', name);
    else if (vidPid !== null) a.device('usb-host', { id, bus: 'usb.0', vendorid: `0x${vidPid[1]}`, productid: `0x${vidPid[2]}` }, 'usbdevice', name);
    else throw unsupported('usbdevice', name, 'not a USB device dom0 knows', 'tablet, mouse, keyboard, host:BUS.ADDR or host:VENDOR:PRODUCT');
  });
}

/** `soundhw=` (comma-separated) → sound cards, all on a silent audio back-end (`-audiodev none`). */
const SOUND: Readonly<Record<string, string>> = { hda: 'intel-hda', ac97: 'AC97', es1370: 'ES1370', sb16: 'sb16' };

export function sound(a: Argv, g: Guest): void {
  const hw = g.hvm.soundhw;
  if (hw === undefined || hw === '') return;
  const cards = hw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const c of cards) {
    if (own(SOUND, c) === undefined) throw unsupported('soundhw', hw, `'${c}' is not a sound card dom0 emulates`, `use ${Object.keys(SOUND).join(', ')}`);
  }
  a.push('-audiodev', 'none,id=audio0');
  cards.forEach((c, i) => {
    const dev = SOUND[c] as string;
    if (c === 'hda') {
      a.device(dev, { id: `sound${i}` }, 'soundhw', hw);
      a.device('hda-duplex', { id: `sound${i}-codec0`, bus: `sound${i}.0`, audiodev: 'audio0' }, 'soundhw', hw);
    } else {
      a.device(dev, { id: `sound${i}`, audiodev: 'audio0' }, 'soundhw', hw);
    }
  });
}

/** `p9=`: a host directory shared over virtio-9p (mount tag = the tag). */
export function shares(a: Argv, g: Guest): void {
  (g.config.p9s ?? []).forEach((p, i) => {
    if (p.type === 'xen_9pfsd') throw unsupported('p9', `type=xen_9pfsd`, 'there is no xen-9pfsd on QEMU', 'remove type= (QEMU serves 9pfs)');
    const id = `fsdev${i}`;
    a.push('-fsdev', opts('local', { id, path: p.path, security_model: p.security_model ?? 'none' }));
    a.device('virtio-9p-pci', { id: `p9-${i}`, fsdev: id, mount_tag: p.tag }, 'p9', `tag=${p.tag ?? ''}`);
  });
}

/** Items with no QEMU counterpart: each fails with the key that asked for it. */
export function rejectUnsupported(g: Guest): void {
  const c = g.config;
  const b = g.b;
  const items: ReadonlyArray<readonly [string, boolean, string, string]> = [
    ['vtpm', (c.vtpms?.length ?? 0) > 0, 'there is no vTPM back-end in dom0', 'remove vtpm='],
    ['pvcalls', (c.pvcallsifs?.length ?? 0) > 0, 'PV calls need a Xen back-end', 'remove pvcalls='],
    ['dtdev', (c.dtdevs?.length ?? 0) > 0, 'device-tree passthrough is Arm Xen only', 'remove dtdev='],
    ['virtio', (c.virtios?.length ?? 0) > 0, 'Xen virtio-mmio devices are Arm only', 'remove virtio='],
    ['ioports', (b.ioports?.length ?? 0) > 0, 'host I/O port passthrough is not available', 'remove ioports='],
    ['iomem', (b.iomem?.length ?? 0) > 0, 'host memory passthrough is not available', 'remove iomem='],
    ['irqs', (b.irqs?.length ?? 0) > 0, 'host IRQ passthrough is not available', 'remove irqs='],
    ['vnuma', (b.vnuma_nodes?.length ?? 0) > 0, 'guest NUMA is not built by dom0 yet', 'remove vnuma='],
    ['pvshim', b.u?.pvh?.pvshim === true, 'there is no PV shim on QEMU', 'run the guest as type="pv" or "pvh" directly'],
    ['device_model_stubdomain_override', b.device_model_stubdomain === true, 'QEMU runs as a process, not in a stub domain', 'remove it'],
    ['device_model_version', b.device_model_version === 'qemu_xen_traditional', 'only qemu-xen (QEMU upstream) exists', 'use device_model_version="qemu-xen" or remove it'],
    ['dm_restrict', b.dm_restrict === true, 'QEMU is not deprivileged by dom0 yet', 'remove dm_restrict='],
    ['device_model_user', b.device_model_user !== undefined, 'QEMU is not run as another user by dom0 yet', 'remove device_model_user='],
    ['spice', g.hvm.spice?.enable === true, 'dom0 offers VNC, not SPICE', 'use vnc=1'],
    ['gfx_passthru', g.hvm.gfx_passthru === true, "graphics passthrough (the host GPU as the guest's primary VGA) is not built by dom0", 'remove gfx_passthru=; pass the GPU with pci= as a secondary device'],
  ];
  for (const [key, present, why, hint] of items) {
    if (present) {
      const v = key === 'device_model_version' ? 'qemu-xen-traditional' : key === 'device_model_user' ? (b.device_model_user ?? '') : 1;
      throw unsupported(key, v, why, hint);
    }
  }
}
