/**
 * libxl's defaults and checks for USB controllers (`usbctrl=`, `xl usbctrl-attach`) and host USB
 * devices (`usbdev=`, `xl usbdev-attach`): `libxl__device_usbctrl_setdefault` and
 * `libxl__device_usbdev_setdefault`, as dom0 runs them on a config (at create, and when the
 * argv is built) and on each device added to a running domain.
 *
 * Controllers: `auto` is `devicemodel` (a controller QEMU emulates) for every guest type, as dom0
 * has no PV USB back-end (libxl gives PV guests `pv` or `qusb`; those types are kept and refused
 * where the machine is built). A devicemodel controller's version defaults to 2; version 1
 * (UHCI) always has 2 ports and version 2 (EHCI) 6, as QEMU's controllers do; version 3 (xHCI)
 * 8 by default, at most 15. An unset devid is one past the highest.
 *
 * Devices: one with no controller takes the first free port of the controllers in config order,
 * or a new controller with the defaults (next devid, port 1), which joins the config; one with a
 * controller and no port takes that controller's first free port. A port without a controller,
 * a taken port and a full controller are refused in libxl's words (SPEC_USB).
 */
import { ToolstackError } from '../../common/index.js';
import type { DomainConfig, UsbctrlDevice, UsbdevDevice } from './domain-config.js';

/** A controller with libxl's defaults: every field set. */
export type UsbController = Required<Pick<UsbctrlDevice, 'type' | 'devid' | 'version' | 'ports'>> & UsbctrlDevice;
/** A host USB device on its controller and port. */
export type UsbHostDevice = UsbdevDevice & { readonly ctrl: number; readonly port: number };

const PORTS_HINT = 'a version=1 controller (UHCI) has 2 ports, version=2 (EHCI) 6, version=3 (xHCI) 1 to 15 (8 by default); leave ports= out for the default';
const MAX_XHCI_PORTS = 15;
/** USBIF_MAX_PORTNR: the most ports a PV USB controller has. */
const MAX_PV_USB_PORTS = 31;

function usbError(line: string, hint: string): ToolstackError {
  return new ToolstackError('SPEC_USB', line, { lines: [line], hint });
}

/**
 * `config` with each host USB device's type set (`hostdev`, libxl's default): libxl's JSON writes
 * a device's host bus and address only under its type, which xl leaves unset, so a config bound
 * for dom0d (libxl JSON) needs it to keep them.
 */
export function withUsbdevType(config: DomainConfig): DomainConfig {
  return config.usbdevs === undefined ? config : { ...config, usbdevs: config.usbdevs.map((d) => ({ ...d, type: d.type ?? 'hostdev' })) };
}

/** `ctrl` with libxl's defaults; `devid` is the one it gets when its own is unset. */
export function usbctrlWithDefaults(ctrl: UsbctrlDevice, devid: number): UsbController {
  const type = ctrl.type === undefined || ctrl.type === null || ctrl.type === 'auto' ? 'devicemodel' : ctrl.type;
  const version = ctrl.version === undefined || ctrl.version === 0 ? 2 : ctrl.version;
  let ports = ctrl.ports ?? 0;
  if (type === 'devicemodel') {
    const fixed = version === 1 ? 2 : version === 2 ? 6 : undefined;
    if (fixed !== undefined) {
      if (ports !== 0 && ports !== fixed) throw usbError(`Number of ports for USB controller of version ${version} is always ${fixed}`, PORTS_HINT);
      ports = fixed;
    } else if (version === 3) {
      if (ports === 0) ports = 8;
      if (ports > MAX_XHCI_PORTS || ports < 0) throw usbError(`Number of ports for USB controller of version 3 is limited to ${MAX_XHCI_PORTS}`, PORTS_HINT);
    } else {
      throw usbError('Illegal USB version', `version=${version}: USB controllers are version=1 (UHCI), 2 (EHCI) or 3 (xHCI)`);
    }
  } else if (ports === 0) {
    ports = 8;
  } else if (ports < 0 || ports > MAX_PV_USB_PORTS) {
    // libxl's USB_MAXPORTS: what a PV (or qusb) controller's xenstore layout describes.
    throw usbError(`Number of ports for USB controller is limited to ${MAX_PV_USB_PORTS}`, `ports=${ports}: a type=${type} controller has 1 to ${MAX_PV_USB_PORTS} ports (8 by default)`);
  }
  return { ...ctrl, type, version, ports, devid: ctrl.devid !== undefined && ctrl.devid >= 0 ? ctrl.devid : devid };
}

/** The devid libxl gives a new controller of `ctrls`: one past the highest. */
function nextDevid(ctrls: readonly { readonly devid?: number }[]): number {
  return Math.max(-1, ...ctrls.map((c) => c.devid ?? -1)) + 1;
}

/**
 * The controllers and host devices of `config` with libxl's defaults: controllers in config
 * order (a device's new controller last), each device on its controller and port.
 */
export function usbWithDefaults(config: DomainConfig): { readonly usbctrls: UsbController[]; readonly usbdevs: UsbHostDevice[] } {
  const usbctrls: UsbController[] = [];
  let next = 0; // nextDevid(usbctrls), kept as they come (a scan per controller was quadratic)
  for (const c of config.usbctrls ?? []) {
    const ctrl = usbctrlWithDefaults(c, next);
    usbctrls.push(ctrl);
    next = Math.max(next, ctrl.devid + 1);
  }
  const usbdevs: UsbHostDevice[] = [];
  const ports = new PortUse([]);
  for (const d of config.usbdevs ?? []) {
    const placed = usbdevPlacement({ usbctrls, usbdevs }, d, ports);
    if (placed.newController !== undefined) usbctrls.push(placed.newController);
    usbdevs.push(placed.usbdev);
    ports.take(placed.usbdev.ctrl, placed.usbdev.port);
  }
  return { usbctrls, usbdevs };
}

/**
 * The ports devices hold, and how many on each controller: a placement looks each up at once (a
 * scan of every device for every port made thousands of `usbdev=` entries cost dom0d minutes).
 */
class PortUse {
  readonly #taken = new Set<string>();
  readonly #used = new Map<number, number>();

  constructor(devs: readonly UsbdevDevice[]) {
    for (const u of devs) if (u.ctrl !== undefined && u.port !== undefined) this.take(u.ctrl, u.port);
  }

  take(ctrl: number, port: number): void {
    if (this.taken(ctrl, port)) return;
    this.#taken.add(`${String(ctrl)}:${String(port)}`);
    this.#used.set(ctrl, (this.#used.get(ctrl) ?? 0) + 1);
  }

  taken(ctrl: number, port: number): boolean {
    return this.#taken.has(`${String(ctrl)}:${String(port)}`);
  }

  /** The first free port of `c`, if any. */
  free(c: UsbController): number | undefined {
    if ((this.#used.get(c.devid) ?? 0) >= c.ports) return undefined;
    for (let p = 1; p <= c.ports; p++) if (!this.taken(c.devid, p)) return p;
    return undefined;
  }

  /** Controllers before this index of the list are full: ports are only ever taken here, and controllers only added at the end. */
  #full = 0;

  /** The first controller of `ctrls` (in order) with a free port, and that port. */
  firstFree(ctrls: readonly UsbController[]): { readonly ctrl: number; readonly port: number } | undefined {
    for (; this.#full < ctrls.length; this.#full++) {
      const c = ctrls[this.#full] as UsbController;
      const port = this.free(c);
      if (port !== undefined) return { ctrl: c.devid, port };
    }
    return undefined;
  }
}

/**
 * Where libxl puts host device `d` among `usb` (controllers with defaults and the devices on
 * them): `usbdev` with its controller and port, and the controller it brings when none has a
 * free port (`newController`, not yet in `usb`). Throws SPEC_USB in libxl's words.
 */
export function usbdevPlacement(
  usb: { readonly usbctrls: readonly UsbController[]; readonly usbdevs: readonly UsbdevDevice[] },
  d: UsbdevDevice,
  ports: PortUse = new PortUse(usb.usbdevs),
): { readonly usbdev: UsbHostDevice; readonly newController?: UsbController } {
  const taken = (ctrl: number, port: number): boolean => ports.taken(ctrl, port);
  const freePort = (c: UsbController): number | undefined => ports.free(c);
  const ctrl = d.ctrl ?? -1;
  const port = d.port ?? 0;
  const usbdev = { ...d, type: d.type ?? 'hostdev' };
  if (ctrl < 0) {
    if (port !== 0) throw usbError('USB controller must be specified if you specify port', 'give controller= with port=, or neither (the first free port is taken)');
    const free = ports.firstFree(usb.usbctrls);
    if (free !== undefined) return { usbdev: { ...usbdev, ...free } };
    const added = usbctrlWithDefaults({ devid: -1 }, nextDevid(usb.usbctrls));
    return { usbdev: { ...usbdev, ctrl: added.devid, port: 1 }, newController: added };
  }
  const c = usb.usbctrls.find((x) => x.devid === ctrl);
  if (c === undefined) throw usbError(`There is no USB controller ${ctrl}`, 'give controller= the devid of a controller the domain has (xl usb-list), or leave it out');
  if (port === 0) {
    const p = freePort(c);
    if (p === undefined) throw usbError('No available port under specified controller', `controller ${ctrl} has ${c.ports} ports, all taken: give another controller= or add one (xl usbctrl-attach)`);
    return { usbdev: { ...usbdev, ctrl, port: p } };
  }
  if (port < 1 || port > c.ports || taken(ctrl, port)) {
    throw usbError("The controller port isn't available", `controller ${ctrl} has ports 1 to ${c.ports}; xl usb-list shows which are taken`);
  }
  return { usbdev: { ...usbdev, ctrl, port } };
}
