/**
 * The host's USB devices as QEMU's usb-host opens them: `dev/bus/usb/BBB/DDD` (bus number and
 * device address, three decimal digits) below a root directory (`/` on a host), and what sysfs
 * tells of them (`sys/bus/usb/devices/*`: `busnum`, `devnum`, `bDeviceClass`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** USB's class code of hubs, which libxl refuses to pass through. */
const HUB_CLASS = 9;

export class HostUsb {
  readonly #root: string;

  constructor(root = '/') {
    this.#root = root;
  }

  /** The device node of bus `bus`, address `addr`. */
  devicePath(bus: number, addr: number): string {
    const d3 = (n: number): string => String(n).padStart(3, '0');
    return join(this.#root, 'dev/bus/usb', d3(bus), d3(addr));
  }

  exists(bus: number, addr: number): boolean {
    return existsSync(this.devicePath(bus, addr));
  }

  /** True when sysfs says the device is a hub (false when sysfs does not know it). */
  isHub(bus: number, addr: number): boolean {
    const dir = join(this.#root, 'sys/bus/usb/devices');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return false;
    }
    // busnum and devnum are decimal, bDeviceClass hex.
    const read = (name: string, file: string, radix: 10 | 16): number | undefined => {
      try {
        return Number.parseInt(readFileSync(join(dir, name, file), 'utf8'), radix);
      } catch {
        return undefined;
      }
    };
    const dev = names.find((n) => !n.includes(':') && read(n, 'busnum', 10) === bus && read(n, 'devnum', 10) === addr);
    return dev !== undefined && read(dev, 'bDeviceClass', 16) === HUB_CLASS;
  }
}
