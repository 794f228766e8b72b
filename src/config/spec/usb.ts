/**
 * USB controllers and devices (`usbctrl=[...]`, `usbdev=[...]`, `xl usbctrl-attach`,
 * `xl usbdev-attach`): xl's `parse_usbctrl_config` / `parse_usbdev_config`, one `key=value`
 * token at a time (config items are split strtok-style on `,`).
 */
import type { UsbctrlDevice, UsbdevDevice } from '../domain-config/domain-config.js';
import { atoi, matchOption, specError, strtokItems, strtoul, toUint8 } from './c-parse.js';

const CTRL_HINT = 'usbctrl spec: type=auto|pv|qusb|devicemodel, version=1|2|3, ports=N';
const DEV_HINT = 'usbdev spec: type=hostdev, hostbus=N, hostaddr=N[, controller=N[, port=N]]';

/** Applies one usbctrl token; throws SPEC_USB with xl's line. */
export function applyUsbctrlToken(u: UsbctrlDevice, token: string): void {
  const type = matchOption('type', token);
  if (type !== undefined) {
    const t = type.toLowerCase();
    if (t !== 'auto' && t !== 'pv' && t !== 'devicemodel' && t !== 'qusb') {
      throw specError('SPEC_USB', [`Invalid usb controller type '${type}'`], CTRL_HINT);
    }
    u.type = t;
    return;
  }
  const version = matchOption('version', token);
  if (version !== undefined) {
    u.version = atoi(version);
    return;
  }
  const ports = matchOption('ports', token);
  if (ports !== undefined) {
    u.ports = atoi(ports);
    return;
  }
  throw specError('SPEC_USB', [`Unknown string \`${token}' in usbctrl spec`], CTRL_HINT);
}

/** A `usbctrl=[...]` item. */
export function parseUsbctrlSpec(spec: string, devid = -1): UsbctrlDevice {
  const u: UsbctrlDevice = { devid };
  for (const token of strtokItems(spec)) applyUsbctrlToken(u, token);
  return u;
}

/** Applies one usbdev token; throws SPEC_USB with xl's line. */
export function applyUsbdevToken(u: UsbdevDevice, token: string): void {
  const type = matchOption('type', token);
  if (type !== undefined) {
    // xl prints getopt's `optarg` here, which is NULL in this context.
    if (type.toLowerCase() !== 'hostdev') throw specError('SPEC_USB', ['Invalid usb device type: (null)'], DEV_HINT);
    u.type = 'hostdev';
    return;
  }
  const num = (v: string): number => toUint8(strtoul(v, 0).value);
  const hostbus = matchOption('hostbus', token);
  if (hostbus !== undefined) {
    ((u.u ??= {}).hostdev ??= {}).hostbus = num(hostbus);
    return;
  }
  const hostaddr = matchOption('hostaddr', token);
  if (hostaddr !== undefined) {
    ((u.u ??= {}).hostdev ??= {}).hostaddr = num(hostaddr);
    return;
  }
  const ctrl = matchOption('controller', token);
  if (ctrl !== undefined) {
    u.ctrl = atoi(ctrl);
    return;
  }
  const port = matchOption('port', token);
  if (port !== undefined) {
    u.port = atoi(port);
    return;
  }
  throw specError('SPEC_USB', [`Unknown string \`${token}' in usbdev spec`], DEV_HINT);
}

/** A `usbdev=[...]` item. */
export function parseUsbdevSpec(spec: string): UsbdevDevice {
  const u: UsbdevDevice = {};
  for (const token of strtokItems(spec)) applyUsbdevToken(u, token);
  return u;
}
