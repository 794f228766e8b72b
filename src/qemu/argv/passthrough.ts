/**
 * Host devices given to the guest, and the USB controllers they plug into; the same device
 * properties at boot (`-device`) and for hot-plug (QMP `device_add`), with libxl's QEMU ids:
 *
 * - `pci=` (libxl's pcidevs): `vfio-pci,host=DDDD:BB:DD.F,id=pci-pt-BB_DD.F`, `addr=SLOT.F` for
 *   a spec with `@VSLOT`, and `multifunction=on` on function 0 of a virtual slot that holds
 *   other functions. The host side (the IOMMU, the device bound to vfio-pci, `name=` resolved to
 *   its BDF, `*` to its functions) is the domain layer's, before the argv is built. The other
 *   options of the spec (`permissive`, `msitranslate`, `power_mgmt`, `seize` aside, which the
 *   domain layer acts on, `rdm_policy`) belong to Xen's passthrough and have no vfio-pci
 *   counterpart: they are kept in the config and not passed.
 * - `usbctrl=` (with libxl's defaults, `usbWithDefaults`): a controller per entry, id
 *   `xenusb-<devid>`: version 1 `piix3-usb-uhci`, 2 `usb-ehci`, 3 `nec-usb-xhci` with `p2` and
 *   `p3` = ports, as libxl adds them. Types `pv` and `qusb` need Xen's PV USB and are refused.
 * - `usbdev=`: `usb-host,id=xenusb-<hostbus>-<hostaddr>,bus=xenusb-<ctrl>.0,port=<port>` with the
 *   host's bus and address; the domain layer has checked that the host has the device.
 * The emulated USB of `usb=`/`usbdevice=` (devices.ts, controller `usb`) is separate and
 * coexists with these.
 */
import type { PciDevice, UsbController, UsbHostDevice } from '../../config/index.js';
import { pciAllFunctions, pciBdfText, usbWithDefaults } from '../../config/index.js';
import type { Guest } from './guest.js';
import type { Argv } from './options.js';
import { unsupported } from './options.js';

/** One QEMU device: `driver`, `id` and its properties (undefined ones are left out). */
export interface QdevWiring {
  readonly driver: string;
  readonly id: string;
  readonly [prop: string]: string | number | boolean | undefined;
}

const hex = (v: number | undefined, w: number): string => (v ?? 0).toString(16).padStart(w, '0');

/** libxl's QEMU id of a passed-through function (`PCI_PT_QDEV_ID`). */
export function pciQdevId(pci: Pick<PciDevice, 'bus' | 'dev' | 'func'>): string {
  return `pci-pt-${hex(pci.bus, 2)}_${hex(pci.dev, 2)}.${hex(pci.func, 1)}`;
}

/**
 * The vfio-pci device of `pci` in a domain whose passed-through functions are `all` (`pci`
 * among them, or about to be): function 0 of a virtual slot other functions share is
 * `multifunction=on`.
 */
export function pciWiring(pci: PciDevice, all: readonly PciDevice[]): QdevWiring {
  if (pciAllFunctions(pci) || (pci.name !== undefined && pci.bus === undefined)) {
    throw unsupported('pci', pci.name ?? pciBdfText(pci), 'the device is not resolved to one function of a host device', 'give DDDD:BB:DD.F');
  }
  const vdevfn = pci.vdevfn ?? 0;
  const slot = vdevfn >> 3;
  const vfunc = vdevfn & 7;
  const shared = slot !== 0 && vfunc === 0 && all.some((o) => o !== pci && (o.vdevfn ?? 0) >> 3 === slot && ((o.vdevfn ?? 0) & 7) !== 0);
  return {
    driver: 'vfio-pci',
    id: pciQdevId(pci),
    host: pciBdfText(pci),
    addr: slot === 0 ? undefined : `${hex(slot, 2)}.${vfunc}`,
    multifunction: shared ? true : undefined,
  };
}

const USB_CONTROLLERS: Readonly<Record<number, string>> = { 1: 'piix3-usb-uhci', 2: 'usb-ehci', 3: 'nec-usb-xhci' };

/** The QEMU id of USB controller `devid` (libxl's). */
export function usbctrlQdevId(devid: number): string {
  return `xenusb-${devid}`;
}

/** The emulated controller of `ctrl` (libxl's defaults applied). */
export function usbctrlWiring(ctrl: UsbController): QdevWiring {
  if (ctrl.type !== 'devicemodel') {
    throw unsupported('usbctrl', `type=${ctrl.type ?? ''}`, 'PV USB needs Xen\'s usbback or QEMU\'s Xen USB back-end, which do not exist here', 'use type=devicemodel (or auto): QEMU emulates the controller');
  }
  const driver = USB_CONTROLLERS[ctrl.version] as string;
  return { driver, id: usbctrlQdevId(ctrl.devid), ...(ctrl.version === 3 ? { p2: ctrl.ports, p3: ctrl.ports } : {}) };
}

/** The QEMU id of a host USB device (libxl's). */
export function usbdevQdevId(dev: UsbHostDevice): string {
  const h = dev.u?.hostdev ?? {};
  return `xenusb-${h.hostbus ?? 0}-${h.hostaddr ?? 0}`;
}

/** The usb-host device of `dev`, on its controller and port. */
export function usbdevWiring(dev: UsbHostDevice): QdevWiring {
  const h = dev.u?.hostdev ?? {};
  return { driver: 'usb-host', id: usbdevQdevId(dev), bus: `${usbctrlQdevId(dev.ctrl)}.0`, port: String(dev.port), hostbus: h.hostbus ?? 0, hostaddr: h.hostaddr ?? 0 };
}

/** `pci=`, `usbctrl=` and `usbdev=` as `-device` arguments. */
export function passthrough(a: Argv, g: Guest): void {
  const pcis = g.config.pcidevs ?? [];
  for (const p of pcis) device(a, pciWiring(p, pcis), 'pci', pciBdfText(p));
  const usb = usbWithDefaults(g.config);
  for (const c of usb.usbctrls) device(a, usbctrlWiring(c), 'usbctrl', `devid=${c.devid}`);
  for (const d of usb.usbdevs) device(a, usbdevWiring(d), 'usbdev', `hostbus=${d.u?.hostdev?.hostbus ?? 0},hostaddr=${d.u?.hostdev?.hostaddr ?? 0}`);
}

function device(a: Argv, w: QdevWiring, key: string, value: string): void {
  const { driver, ...props } = w;
  a.device(driver, props, key, value);
}
