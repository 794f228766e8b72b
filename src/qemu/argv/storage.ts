/**
 * Disks. Where a disk goes follows Xen's HVM rules by vdev, and virtio stands in for blkfront:
 * - PV, PVH: every disk is a virtio-blk-pci (ordered by disk number, so xvda is the guest's vda).
 * - HVM: `hd[a-d]` and `xvd[a-d]` are the emulated IDE disk of that index (bus index/2, unit
 *   index%2: hdc = secondary master), on AHCI port <index> instead with `hdtype="ahci"`
 *   (CD-ROMs stay IDE); `sd*` are AHCI ports 0-5; `xvde` and beyond, and any disk with
 *   `specification=virtio`, are virtio-blk. A CD-ROM is `ide-cd` (`ide-cd` on AHCI for `sd*`).
 * Contract with hotplug and the console: device id = vdev (`xvda`, `hdc`), block node
 * `drive-<vdev>` (one `-blockdev`: format over protocol), virtio serial number = vdev
 * (`/dev/disk/by-id/virtio-xvda` in the guest). An empty CD-ROM drive has no node; insert media
 * with QMP `blockdev-change-medium id=<vdev>`.
 */
import type { DiskDevice } from '../../config/index.js';
import type { Guest } from './guest.js';
import type { Argv } from './options.js';
import { unsupported } from './options.js';

/** libxl disk formats → QEMU block drivers. */
const FORMAT_DRIVER: Readonly<Record<string, string>> = {
  unknown: 'raw', raw: 'raw', qcow: 'qcow', qcow2: 'qcow2', vhd: 'vpc', qed: 'qed',
};

/** ich9-ahci has six ports. */
const AHCI_PORTS = 6;

export interface Vdev {
  readonly prefix: 'hd' | 'sd' | 'xvd';
  /** 0 for `a`, 25 for `z`, 26 for `aa` (Xen's disk number). */
  readonly disk: number;
  readonly partition: number;
}

/** `hda`, `sdb2`, `xvdaa` → prefix, disk number, partition; undefined for other spellings. */
export function parseVdev(vdev: string): Vdev | undefined {
  const m = /^(hd|sd|xvd)([a-z]+)(\d*)$/.exec(vdev);
  if (m === null) return undefined;
  let disk = 0;
  for (const c of m[2] as string) disk = disk * 26 + (c.charCodeAt(0) - 96);
  return { prefix: m[1] as Vdev['prefix'], disk: disk - 1, partition: m[3] === '' ? 0 : Number(m[3]) };
}

type Placement =
  | { readonly bus: 'virtio' }
  | { readonly bus: 'ide'; readonly index: number }
  | { readonly bus: 'ahci'; readonly port: number };

function diskKey(d: DiskDevice): string {
  return `${d.pdev_path ?? ''},${d.vdev ?? ''}${isCdrom(d) ? ':cdrom' : ''}`;
}

function isCdrom(d: DiskDevice): boolean {
  return (d.is_cdrom ?? 0) !== 0;
}

function placement(g: Guest, d: DiskDevice, v: Vdev): Placement {
  const cdrom = isCdrom(d);
  if (g.type !== 'hvm') {
    if (cdrom && (d.pdev_path ?? '') === '') {
      throw unsupported('disk', diskKey(d), 'an empty CD-ROM drive needs an emulated IDE controller', 'use type="hvm", or give the ISO image');
    }
    return { bus: 'virtio' };
  }
  const emulated = v.prefix === 'sd' || v.prefix === 'hd' || v.disk < 4;
  if (d.specification === 'virtio' || !emulated) {
    if (cdrom) throw unsupported('disk', diskKey(d), 'a CD-ROM must be an emulated drive', 'use vdev hda-hdd or sda-sdf');
    return { bus: 'virtio' };
  }
  if (v.partition !== 0) throw unsupported('disk', diskKey(d), 'an emulated disk is a whole disk, not a partition', `use vdev ${v.prefix}${String.fromCharCode(97 + v.disk)}`);
  if (v.prefix === 'sd') {
    if (v.disk >= AHCI_PORTS) throw unsupported('disk', diskKey(d), `the AHCI controller has ${AHCI_PORTS} ports (sda-sdf)`, 'use sda-sdf, or xvde and beyond for virtio');
    return { bus: 'ahci', port: v.disk };
  }
  if (v.disk >= 4) throw unsupported('disk', diskKey(d), 'IDE has four places (hda-hdd)', 'use hda-hdd, sda-sdf, or xvde and beyond for virtio');
  if (g.hvm.hdtype === 'ahci' && !cdrom) return { bus: 'ahci', port: v.disk };
  return { bus: 'ide', index: v.disk };
}

/** The `-blockdev` JSON of a disk with media: format driver over `file` or `host_device`. */
function blockdev(d: DiskDevice, node: string, readOnly: boolean): string {
  const path = d.pdev_path ?? '';
  const name = d.format ?? 'unknown';
  const format = FORMAT_DRIVER[name];
  if (format === undefined) throw unsupported('disk', diskKey(d), `format ${name} has no QEMU driver`, 'use raw, qcow2, qcow, vhd or qed');
  // A block device (phy:, or any path under /dev) is opened as host_device; the builder does no I/O to stat it.
  const protocol = d.backend === 'phy' || path.startsWith('/dev/') ? 'host_device' : 'file';
  return JSON.stringify({
    'node-name': node,
    driver: format,
    'read-only': readOnly,
    ...(d.discard_enable === true ? { discard: 'unmap' } : {}),
    file: { driver: protocol, filename: path, 'read-only': readOnly },
  });
}

export function disks(a: Argv, g: Guest): void {
  const list = (g.config.disks ?? []).map((d, i) => {
    const vdev = d.vdev ?? '';
    const v = parseVdev(vdev);
    if (v === undefined) throw unsupported('disk', diskKey(d), `vdev '${vdev}' is not hdX, sdX or xvdX`, 'name the guest device hda-hdd, sda-sdf or xvda...');
    if (d.script !== undefined) throw unsupported('disk', diskKey(d), 'block scripts are not run by dom0', 'give a file or block device path');
    const be = d.backend_domname;
    if (be !== undefined && be !== '0' && be !== 'Domain-0') throw unsupported('disk', diskKey(d), 'driver domains do not exist on QEMU', 'remove backend=');
    return { d, v, vdev, i, where: placement(g, d, v) };
  });
  const taken = new Map<string, string>();
  for (const x of list) {
    const slot = x.where.bus === 'virtio' ? `virtio:${x.vdev}` : x.where.bus === 'ide' ? `ide:${x.where.index}` : `ahci:${x.where.port}`;
    const other = taken.get(slot);
    if (other !== undefined) throw unsupported('disk', diskKey(x.d), `vdev ${x.vdev} is the same ${x.where.bus === 'virtio' ? 'disk' : `${x.where.bus.toUpperCase()} place`} as ${other}`, 'give each disk its own vdev');
    taken.set(slot, x.vdev);
  }
  const firstAhci = list.find((x) => x.where.bus === 'ahci');
  if (firstAhci !== undefined) a.device('ich9-ahci', { id: 'ahci0' }, 'disk', diskKey(firstAhci.d));
  // Virtio disks by disk number: PCI order is enumeration order, so xvda becomes vda.
  const ordered = [...list].sort((x, y) => (x.where.bus === 'virtio' ? 1 : 0) - (y.where.bus === 'virtio' ? 1 : 0) ||
    (x.where.bus === 'virtio' && y.where.bus === 'virtio' ? x.v.disk - y.v.disk || x.v.partition - y.v.partition : 0) || x.i - y.i);
  for (const { d, vdev, where } of ordered) {
    const cdrom = isCdrom(d);
    const node = `drive-${vdev}`;
    const hasMedia = (d.pdev_path ?? '') !== '' && d.format !== 'empty';
    const readOnly = cdrom || (d.readwrite ?? 0) === 0;
    if (readOnly && !cdrom && where.bus !== 'virtio') {
      throw unsupported('disk', diskKey(d), 'QEMU cannot emulate a read-only IDE or AHCI hard disk', `make it writable (,w), or use vdev xvde and beyond (virtio) for ${vdev}`);
    }
    if (hasMedia) a.push('-blockdev', blockdev(d, node, readOnly));
    const drive = hasMedia ? node : undefined;
    if (where.bus === 'virtio') {
      a.device('virtio-blk-pci', { id: vdev, drive, serial: vdev }, 'disk', diskKey(d));
    } else {
      const bus = where.bus === 'ide' ? `ide.${where.index >> 1}` : `ahci0.${where.port}`;
      const unit = where.bus === 'ide' ? where.index & 1 : undefined;
      a.device(cdrom ? 'ide-cd' : 'ide-hd', { id: vdev, bus, unit, drive }, 'disk', diskKey(d));
    }
  }
}
