/**
 * What is checked of a domain's disks on the host before QEMU opens them (at create, at
 * `block-attach`, at `cd-insert`), so that a mistake is one line naming the disk and the domain,
 * and nothing has been started or changed yet:
 * 1. the file or block device exists (GUEST_FILE, libxl's "failed to stat" words) and is one
 *    (GUEST_FILE: QEMU would block for good opening a FIFO, and refuses other kinds);
 * 2. no disk of a live domain (this one included) opens the same image when either of the two is
 *    writable: QEMU's image locks would refuse the second opener (DISK_IMAGE, naming the holder);
 * 3. qemu-img can open it, nobody else holds its write lock (DISK_IMAGE, naming the holder when
 *    it is a domain's QEMU), and its format is the one the spec gives (DISK_IMAGE). A fixed VHD
 *    probes as raw (its footer is at the end), so raw is accepted for `vhd`.
 * An incoming migration's disks are its sender's (shared storage, as Xen assumes): the caller
 * leaves the sending domain out of `inUse`, and its QEMU's write lock is expected (`arriving`: the
 * probe reads through it; the receiving QEMU takes the lock only when the stream has ended).
 * Disks without media (an empty CD-ROM drive) are not checked, nor those a block script makes
 * (their target is the script's to read: an iSCSI name, a DRBD resource...). Without qemu-img on the host,
 * step 3 is skipped: QEMU's own error then tells.
 */
import { statSync } from 'node:fs';
import { ToolstackError } from '../common/index.js';
import type { DiskDevice } from '../config/index.js';
import { isPidAlive } from '../host/index.js';
import { qemuFormatDriver } from '../qemu/index.js';
import { imageIdentity, probeImage, processesWithImageOpen } from '../storage/index.js';
import { hasBlockScript } from './block-scripts.js';
import { fileKind, statError } from './qemu-runtime.js';
import type { DomainRecord } from './record.js';

/**
 * libxl's choice of backend for a disk whose spec left it open (libxl__device_disk_set_backend):
 * a block device, also through a symlink as an LVM volume's /dev/VG/LV is, gets `phy` — QEMU
 * then opens it as a host device and xenstore has a `vbd` backend. Anything else keeps what it
 * has (files go to QEMU's qdisk; a path that cannot be stat'ed is reported by `checkDisks`).
 */
export function withDiskBackend(d: DiskDevice): DiskDevice {
  if ((d.backend !== undefined && d.backend !== 'unknown') || d.script !== undefined || d.pdev_path === undefined || d.pdev_path === '') return d;
  return imageIdentity(d.pdev_path)?.startsWith('b:') === true ? { ...d, backend: 'phy' } : d;
}

/** A disk some domain has (or is getting), for the lock check. */
export interface DiskOwner {
  readonly domid: number;
  readonly name: string;
  readonly disk: DiskDevice;
}

export interface DiskCheckContext {
  /** The domain the disks are for. */
  readonly domain: { readonly domid: number; readonly name: string };
  /** The disks already in use on the host: every disk of every live domain, this one's included. */
  readonly inUse: readonly DiskOwner[];
  /** The QEMUs of live domains, to name the holder of a lock no config explains. */
  readonly machines: readonly { readonly domid: number; readonly name: string; readonly pid: number }[];
  /** Where the user fixes a bad disk (`disk= in guest.cfg`, `the block-attach arguments`). */
  readonly where: string;
  /** The disks are an incoming migration's (see the module comment). */
  readonly arriving?: boolean;
}

/** The disks in use on the host and the live machines, from the records (`rec.qemuPid` alive). */
export function diskContext(records: readonly DomainRecord[]): Pick<DiskCheckContext, 'inUse' | 'machines'> {
  const live = records.filter((r) => r.qemuPid !== null && isPidAlive(r.qemuPid));
  return {
    inUse: live.flatMap((r) => (r.config.disks ?? []).map((disk) => ({ domid: r.domid, name: r.name, disk }))),
    machines: live.map((r) => ({ domid: r.domid, name: r.name, pid: r.qemuPid as number })),
  };
}

/** Whether the disk names an image or device of the host (not empty, not a block script's target). */
function hasMedia(d: DiskDevice): boolean {
  return (d.pdev_path ?? '') !== '' && d.format !== 'empty' && !hasBlockScript(d);
}

function writable(d: DiskDevice): boolean {
  return (d.is_cdrom ?? 0) === 0 && (d.readwrite ?? 0) !== 0;
}

/** libxl's name of a QEMU block driver, for messages (`vpc` is Xen's `vhd`). */
function libxlFormat(driver: string): string {
  return driver === 'vpc' ? 'vhd' : driver;
}

/**
 * Checks `disks` (in order) for `ctx.domain`; throws the first failure. `disks` may be in
 * `ctx.inUse` already (a domain's own disks are not in conflict with themselves).
 */
export async function checkDisks(disks: readonly DiskDevice[], ctx: DiskCheckContext): Promise<void> {
  const others: DiskOwner[] = [...ctx.inUse];
  for (const disk of disks) {
    if (!hasMedia(disk)) continue;
    const path = disk.pdev_path as string;
    const vdev = disk.vdev ?? '?';
    const who = `Disk vdev=${vdev} of domain '${ctx.domain.name}'`;
    const statErr = statError(path);
    if (statErr !== undefined) {
      throw new ToolstackError('GUEST_FILE', `${who} failed to stat: ${path}: ${statErr}`, { hint: `check the path in ${ctx.where}` });
    }
    const st = statSync(path);
    if (!st.isFile() && !st.isBlockDevice()) {
      throw new ToolstackError('GUEST_FILE', `${who}: ${path} is ${fileKind(st)}, not an image file or a block device`, { hint: `check the path in ${ctx.where}` });
    }
    const id = imageIdentity(path) as string;
    const clash = others.find((o) => o.disk !== disk && hasMedia(o.disk) && (writable(o.disk) || writable(disk)) && imageIdentity(o.disk.pdev_path as string) === id);
    if (clash !== undefined) {
      const holder = clash.domid === ctx.domain.domid ? `this domain (its disk ${clash.disk.vdev ?? '?'})` : `domain '${clash.name}' (${clash.domid}, its disk ${clash.disk.vdev ?? '?'})`;
      throw new ToolstackError('DISK_IMAGE', writable(clash.disk)
        ? `${who}: ${path} is open read-write by ${holder}`
        : `${who}: ${path} is open by ${holder}, so it cannot be opened read-write`, {
        hint: writable(clash.disk)
          ? 'an image may be written by one disk only: detach it there first, or give this disk its own copy (or a qcow2 overlay)'
          : 'attach it read-only here (access=ro), or detach it there first',
      });
    }
    const probe = await probeImage(path, ctx.arriving === true);
    if (probe.status === 'locked') {
      const pids = processesWithImageOpen(id, ctx.machines.map((m) => m.pid));
      const m = ctx.machines.find((x) => pids.includes(x.pid));
      throw new ToolstackError('DISK_IMAGE', `${who}: ${path} is open read-write by ${m === undefined ? 'another process' : `domain '${m.name}' (${m.domid})`} (QEMU's image lock)`, {
        hint: m === undefined ? `see who has it open: fuser -v ${path}` : 'an image may be written by one disk only: detach it there first, or give this disk its own copy',
      });
    }
    if (probe.status === 'unreadable') {
      throw new ToolstackError('DISK_IMAGE', `${who}: qemu-img cannot read ${path}: ${probe.detail}`, { hint: `check the image (qemu-img info ${path})` });
    }
    if (probe.status === 'ok') {
      const want = qemuFormatDriver(disk.format);
      if (want !== undefined && probe.format !== want && !(want === 'vpc' && probe.format === 'raw')) {
        const given = disk.format === undefined || disk.format === null || disk.format === 'unknown' ? 'raw' : disk.format;
        const known = qemuFormatDriver(libxlFormat(probe.format)) === probe.format;
        throw new ToolstackError('DISK_IMAGE', `${who}: ${path} is a ${libxlFormat(probe.format)} image, not ${given} as its spec says`, {
          hint: known
            ? `give format=${libxlFormat(probe.format)} in ${ctx.where} (raw is the default when no format is given)`
            : `Xen's disk formats are raw, qcow, qcow2, vhd and qed: convert it (qemu-img convert -O qcow2 ${path} NEW.qcow2)`,
        });
      }
    }
    others.push({ ...ctx.domain, disk });
  }
}
