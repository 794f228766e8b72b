// A directory tree shaped like the parts of sysfs and /dev that PCI and USB passthrough read
// (src/host/pci.ts, src/host/usb.ts), for tests of a host this machine is not: with or without an
// IOMMU, PCI devices bound to drivers, USB device nodes. Writes the code makes land in plain files
// (`driver_override`, `unbind`, `bind`, `drivers_probe`); `bind` plays the kernel's answer to a
// probe or bind by moving the `driver` link, as the test decides.
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class FakeHostDevices {
  readonly root: string;

  constructor() {
    this.root = mkdtempSync('/tmp/dom0-fake-host-');
    for (const d of ['sys/bus/pci/devices', 'sys/bus/pci/drivers', 'sys/kernel/iommu_groups', 'dev/bus/usb']) mkdirSync(join(this.root, d), { recursive: true });
    writeFileSync(join(this.root, 'sys/bus/pci/drivers_probe'), '');
  }

  /** A PCI device, in IOMMU group `group` (undefined: none), bound to `driver` (undefined: none). */
  pciDevice(bdf: string, o: { readonly group?: string; readonly driver?: string } = {}): void {
    const dev = join(this.root, 'sys/devices/pci0000:00', bdf);
    mkdirSync(dev, { recursive: true });
    writeFileSync(join(dev, 'driver_override'), '(null)\n');
    symlinkSync(dev, join(this.root, 'sys/bus/pci/devices', bdf));
    if (o.group !== undefined) {
      const g = join(this.root, 'sys/kernel/iommu_groups', o.group, 'devices');
      mkdirSync(g, { recursive: true });
      symlinkSync(dev, join(g, bdf));
      symlinkSync(join(this.root, 'sys/kernel/iommu_groups', o.group), join(dev, 'iommu_group'));
    }
    if (o.driver !== undefined) this.bind(bdf, o.driver);
  }

  /** The kernel's work: `bdf` bound to `driver` (undefined: to none). */
  bind(bdf: string, driver: string | undefined): void {
    const dev = join(this.root, 'sys/bus/pci/devices', bdf);
    const link = join(dev, 'driver');
    const old = this.driverOf(bdf);
    if (old !== undefined) {
      unlinkSync(link);
      rmSync(join(this.driverDir(old), bdf), { force: true });
    }
    if (driver === undefined) return;
    const dir = this.driverDir(driver);
    for (const f of ['bind', 'unbind']) writeFileSync(join(dir, f), '', { flag: 'a' });
    symlinkSync(dir, link);
    symlinkSync(dev, join(dir, bdf));
  }

  driverOf(bdf: string): string | undefined {
    try {
      return basename(readlinkSync(join(this.root, 'sys/bus/pci/devices', bdf, 'driver')));
    } catch {
      return undefined;
    }
  }

  /** `sys/bus/pci/drivers/<name>`, made when missing (a loaded driver). */
  driverDir(name: string): string {
    const dir = join(this.root, 'sys/bus/pci/drivers', name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** What the code wrote to `path` (relative to the root). */
  written(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  /** A USB device node `dev/bus/usb/BBB/DDD`. */
  usbDevice(bus: number, addr: number): void {
    const path = join(this.root, 'dev/bus/usb', String(bus).padStart(3, '0'), String(addr).padStart(3, '0'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
