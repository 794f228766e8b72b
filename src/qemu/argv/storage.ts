/**
 * Disks. Where a disk goes follows Xen's HVM rules by vdev, and virtio stands in for blkfront:
 * - PV, PVH: every disk is a virtio-blk-pci (ordered by disk number, so xvda is the guest's vda).
 * - HVM: `hd[a-d]` and `xvd[a-d]` are the emulated IDE disk of that index (bus index/2, unit
 *   index%2: hdc = secondary master), on AHCI port <index> instead with `hdtype="ahci"`
 *   (CD-ROMs stay IDE); `sd*` are AHCI ports 0-5; `xvde` and beyond, and any disk with
 *   `specification=virtio`, are virtio-blk. A CD-ROM is `ide-cd` (`ide-cd` on AHCI for `sd*`).
 *
 * One wiring (`DiskWiring`) per disk serves the boot argv (`-blockdev` JSON, `-device`) and
 * hotplug (QMP `blockdev-add`, `device_add`) alike, so both name things the same way: device id =
 * vdev (`xvda`, `hdc`), medium node `drive-<vdev>` (format driver over a `file` or `host_device`
 * node), virtio serial number = vdev (`/dev/disk/by-id/virtio-xvda` in the guest). An empty
 * CD-ROM drive has no node; media go in and out with QMP `blockdev-open-tray`,
 * `blockdev-remove-medium`, `blockdev-insert-medium` of node `drive-<vdev>` into device `<vdev>`.
 * Only virtio disks can be hot-plugged (IDE and AHCI cannot).
 *
 * A disk's medium node follows libxl's defaults: discard passed down (`discard=unmap`) unless
 * `no-discard`, for writable disks (`discard-enable` defaults to `readwrite`); `direct-io-safe`
 * opens it with O_DIRECT and native AIO, as Xen's qdisk does. A disk with a block script
 * (`script=`) is the block device its script made: the driver runs the script and gives the
 * builder that device's path as the disk's `pdev_path`.
 *
 * The backing files an image's header names are never left to QEMU to read at open time: the
 * node names the chain the domain layer checked (`ImageChain`), each image with its checked
 * format, `backing: null` below the last, and the checked data file (see `ImageChain` for its
 * limit); a disk of a format with backing files and no checked chain is a bug (BugError), not a guess.
 */
import { BugError, ToolstackError } from '../../common/index.js';
import { vdevNumber } from '../../config/index.js';
import type { DiskDevice, DomainConfig } from '../../config/index.js';
import { guestOf } from './guest.js';
import type { Guest } from './guest.js';
import type { Argv } from './options.js';
import { invalid, unsupported } from './options.js';
import type { ChainedImage, ImageChain } from './types.js';

/** libxl disk formats → QEMU block drivers. */
const FORMAT_DRIVER: Readonly<Record<string, string>> = {
  unknown: 'raw', raw: 'raw', qcow: 'qcow', qcow2: 'qcow2', vhd: 'vpc', qed: 'qed',
};

/** The QEMU block driver of a libxl disk format (`vhd` → `vpc`); undefined for `empty` and unknown names. */
export function qemuFormatDriver(format: string | null | undefined): string | undefined {
  return FORMAT_DRIVER[format ?? 'unknown'];
}

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

/** `blockdev-add` options (a BlockdevOptions tree): `node-name` and `driver` first. */
export interface DiskNode {
  readonly 'node-name': string;
  readonly driver: string;
  readonly [option: string]: unknown;
}

/** `device_add` properties, which `-device` writes as `driver,key=value,...` in this order. */
export interface DiskDeviceProps {
  readonly driver: string;
  readonly id: string;
  readonly [prop: string]: string | number | boolean | undefined;
}

/** How one disk is wired into QEMU (see the module comment). */
export interface DiskWiring {
  readonly disk: DiskDevice;
  readonly vdev: string;
  readonly bus: Placement['bus'];
  /** The medium's node; absent for an empty drive. */
  readonly node?: DiskNode;
  readonly device: DiskDeviceProps;
}

/** The node name of a disk's medium. */
export function diskNodeName(vdev: string): string {
  return `drive-${vdev}`;
}

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

/** Whether the guest gets the disk read-only (CD-ROMs always). */
function diskReadOnly(d: DiskDevice): boolean {
  return isCdrom(d) || (d.readwrite ?? 0) === 0;
}

/** QEMU's drivers of formats whose header may name a backing file (and, for qcow2, a data file). */
const CHAINED_DRIVERS = new Set(['qcow', 'qcow2', 'qed']);

/** Whether a disk of libxl format `format` opens files its header names (`ImageChain`). */
export function formatHasChain(format: string | null | undefined): boolean {
  return CHAINED_DRIVERS.has(qemuFormatDriver(format) ?? '');
}

/** The protocol node of a checked image a header names. */
function chainedFile(image: ChainedImage, readOnly: boolean): Record<string, unknown> {
  return { driver: image.blockDevice ? 'host_device' : 'file', filename: image.path, 'read-only': readOnly };
}

/** The nodes of backing files `chain` (top down): each over the next, the last over none. */
function backingNode(chain: readonly ChainedImage[]): Record<string, unknown> | null {
  const [image, ...below] = chain;
  if (image === undefined) return null;
  return {
    driver: image.format,
    'read-only': true,
    file: chainedFile(image, true),
    ...(CHAINED_DRIVERS.has(image.format) ? { backing: backingNode(below) } : {}),
  };
}

/** The node of a disk with media: format driver over `file` or `host_device`, and its checked chain. */
function mediumNode(d: DiskDevice, vdev: string, chain: ImageChain | undefined): DiskNode {
  const path = d.pdev_path ?? '';
  const name = d.format ?? 'unknown';
  const format = qemuFormatDriver(name);
  if (format === undefined) throw unsupported('disk', diskKey(d), `format ${name} has no QEMU driver`, 'use raw, qcow2, qcow, vhd or qed');
  const chained = CHAINED_DRIVERS.has(format);
  if (chained && chain === undefined) throw new BugError(`argv: disk ${vdev} (${format}) reached the builder without its checked image chain`);
  const readOnly = diskReadOnly(d);
  // A block device (phy:, a block script's, or any path under /dev) is opened as host_device; the builder does no I/O to stat it.
  const protocol = d.backend === 'phy' || d.script !== undefined || path.startsWith('/dev/') ? 'host_device' : 'file';
  const direct = d.direct_io_safe === true ? { cache: { direct: true } } : {};
  const data = chain?.dataFile;
  return {
    'node-name': diskNodeName(vdev),
    driver: format,
    'read-only': readOnly,
    ...((d.discard_enable ?? (d.readwrite ?? 0) !== 0) ? { discard: 'unmap' } : {}),
    ...direct,
    file: { driver: protocol, filename: path, 'read-only': readOnly, ...(d.direct_io_safe === true ? { aio: 'native', ...direct } : {}) },
    ...(chained && chain !== undefined ? { backing: backingNode(chain.backing) } : {}),
    ...(chained && data !== undefined ? { 'data-file': chainedFile(data, readOnly) } : {}),
  };
}

/** Whether the disk has a medium QEMU opens (not an empty drive). */
export function diskHasMedium(d: DiskDevice): boolean {
  return (d.pdev_path ?? '') !== '' && d.format !== 'empty';
}

/** A disk's place and device, before its medium node (`DiskWiring` without `node`). */
type DiskPlace = Omit<DiskWiring, 'node'>;

/**
 * Every disk of the config, checked (vdev spelling, one disk per place, what QEMU can emulate),
 * in the order QEMU must create them: emulated ones in config order, then virtio ones by disk
 * number (PCI order is enumeration order, so xvda becomes vda); `chains` by vdev.
 */
export function diskWirings(config: DomainConfig, chains: Readonly<Record<string, ImageChain>> = {}): DiskWiring[] {
  return diskPlaces(config).map((p) => withNode(p, chains[p.vdev]));
}

function withNode(p: DiskPlace, chain: ImageChain | undefined): DiskWiring {
  return diskHasMedium(p.disk) ? { ...p, node: mediumNode(p.disk, p.vdev, chain) } : p;
}

function diskPlaces(config: DomainConfig): DiskPlace[] {
  const g = guestOf(config);
  const list = (config.disks ?? []).map((d, i) => {
    const vdev = d.vdev ?? '';
    const v = parseVdev(vdev);
    if (v === undefined) throw unsupported('disk', diskKey(d), `vdev '${vdev}' is not hdX, sdX or xvdX`, 'name the guest device hda-hdd, sda-sdf or xvda...');
    if (vdevNumber(vdev) === undefined) {
      throw invalid('disk', diskKey(d), `Invalid or unsupported virtual disk identifier ${vdev}`,
        'Xen numbers hda-hdd (partitions 1-63), sda-sdp (partitions 1-15) and xvda... (2^20 disks, partitions 1-255)');
    }
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
  const ordered = [...list].sort((x, y) => (x.where.bus === 'virtio' ? 1 : 0) - (y.where.bus === 'virtio' ? 1 : 0) ||
    (x.where.bus === 'virtio' && y.where.bus === 'virtio' ? x.v.disk - y.v.disk || x.v.partition - y.v.partition : 0) || x.i - y.i);
  return ordered.map(({ d, vdev, where }) => {
    const cdrom = isCdrom(d);
    if (diskReadOnly(d) && !cdrom && where.bus !== 'virtio') {
      throw unsupported('disk', diskKey(d), 'QEMU cannot emulate a read-only IDE or AHCI hard disk', `make it writable (,w), or use vdev xvde and beyond (virtio) for ${vdev}`);
    }
    const drive = diskHasMedium(d) ? diskNodeName(vdev) : undefined;
    const device: DiskDeviceProps = where.bus === 'virtio'
      ? { driver: 'virtio-blk-pci', id: vdev, drive, serial: vdev }
      : {
        driver: cdrom ? 'ide-cd' : 'ide-hd',
        id: vdev,
        bus: where.bus === 'ide' ? `ide.${where.index >> 1}` : `ahci0.${where.port}`,
        unit: where.bus === 'ide' ? where.index & 1 : undefined,
        drive,
      };
    return { disk: d, vdev, bus: where.bus, device };
  });
}

/** `-blockdev` and `-device` for every disk (and the AHCI controller when a disk is on it). */
export function disks(a: Argv, g: Guest, chains: Readonly<Record<string, ImageChain>> = {}): void {
  const wired = diskWirings(g.config, chains);
  const firstAhci = wired.find((w) => w.bus === 'ahci');
  if (firstAhci !== undefined) a.device('ich9-ahci', { id: 'ahci0' }, 'disk', diskKey(firstAhci.disk));
  for (const w of wired) {
    if (w.node !== undefined) a.push('-blockdev', JSON.stringify(w.node));
    const { driver, ...props } = w.device;
    a.device(driver, props, 'disk', diskKey(w.disk));
  }
}

/**
 * The wiring of `disk` added to a running domain of `config`: checked with the domain's disks as
 * at boot, and refused (NOT_SUPPORTED, one line) unless it is a virtio disk, the only kind a
 * running guest can take.
 */
export function hotplugDiskWiring(config: DomainConfig, disk: DiskDevice, chain?: ImageChain): DiskWiring {
  const wired = diskPlaces({ ...config, disks: [...(config.disks ?? []), disk] }).find((w) => w.disk === disk) as DiskPlace;
  if (wired.bus !== 'virtio') {
    const what = `an emulated ${wired.bus === 'ide' ? 'IDE' : 'AHCI (SATA)'} ${isCdrom(disk) ? 'CD-ROM drive' : 'disk'}`;
    throw new ToolstackError('NOT_SUPPORTED', `Cannot hot-plug disk ${wired.vdev} into domain '${config.c_info?.name ?? ''}': on an HVM domain ${wired.vdev} is ${what}, and ${wired.bus === 'ide' ? 'IDE' : 'AHCI'} cannot hot-plug`, {
      hint: isCdrom(disk)
        ? 'change the media of an existing CD-ROM drive with xl cd-insert, or add the drive to the config and restart the domain'
        : 'give a vdev of xvde or beyond (a virtio disk), or add the disk to the config and restart the domain',
    });
  }
  return withNode(wired, chain);
}

/** The medium node of `disk` (`chain` checked) as it goes into its (existing) drive: QMP `blockdev-add` options. */
export function diskMediumNode(disk: DiskDevice, chain?: ImageChain): DiskNode {
  return mediumNode(disk, disk.vdev ?? '', chain);
}
