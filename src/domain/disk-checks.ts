/**
 * What is checked of a domain's disks on the host before QEMU opens them (at create, at
 * `block-attach`, at `cd-insert`), so that a mistake is one line naming the disk and the domain,
 * and nothing has been started or changed yet:
 * 1. the file or block device exists (GUEST_FILE, libxl's "failed to stat" words) and is one
 *    (GUEST_FILE: QEMU would block for good opening a FIFO, and refuses other kinds);
 * 2. no disk of a live domain (this one included) opens the same image when either of the two is
 *    writable: QEMU's image locks would refuse the second opener (DISK_IMAGE, naming the holder);
 * 3. a writable block device is not in use on the host (mounted, or a partition of it; held by
 *    device-mapper or md; swap), as an exclusive open tells;
 * 4. qemu-img can open it as the format its spec gives (never probed: a guest writes its raw
 *    disk's first bytes itself) and nobody else holds its write lock (DISK_IMAGE, naming the
 *    holder when it is a domain's QEMU);
 * 5. what its header names, QEMU would open too, so each is checked as the image was: a qcow2
 *    data file, and every backing file down the chain: a plain path (no `json:` description or
 *    protocol: an image from elsewhere must not make QEMU connect anywhere), a file outside the
 *    host's own directories (`HOST_PRIVATE_DIRS`) or a block device the host does not use (a
 *    mounted disk: `/dev/vda` would hand the guest the host's), that no domain writes, its format recorded (not guessed from bytes) and
 *    one of Xen's, no loop, at most 32 deep. A disk clashes with another (2) also when one is a
 *    partition of the other's device.
 * An incoming migration's disks are its sender's (shared storage, as Xen assumes): the caller
 * leaves the sending domain out of `inUse`, and its QEMU's write lock is expected (`arriving`: the
 * probe reads through it; the receiving QEMU takes the lock only when the stream has ended).
 * Disks without media (an empty CD-ROM drive) are not checked, nor those a block script makes
 * (their target is the script's to read: an iSCSI name, a DRBD resource...), whose format may
 * not name backing files. Without qemu-img on the host, steps 4 and 5 are skipped for formats
 * without backing files (raw, vhd);
 * a disk of a format whose header names files (qcow, qcow2, qed) is then refused, as its chain
 * cannot be checked. What was checked is what QEMU opens: `checkDisks` resolves with each disk's
 * chain (`ImageChain`), which the medium node names instead of leaving the header to QEMU.
 * `diskWarnings` says which raw disks begin like another format's image.
 */
import { realpathSync, statSync } from 'node:fs';
import { ToolstackError, shownValue } from '../common/index.js';
import type { DiskDevice } from '../config/index.js';
import { isPidAlive, probePaths } from '../host/index.js';
import { formatHasChain, qemuFormatDriver } from '../qemu/index.js';
import type { ChainedImage, ImageChain } from '../qemu/index.js';
import { blockDeviceUse, imageIdentity, imageMagic, imagesOverlap, probeImage, processesWithImageOpen } from '../storage/index.js';
import type { ImageProbe, ImageReference } from '../storage/index.js';
import { hasBlockScript } from './block-scripts.js';
import { hostPrivateDir, ownerImage } from './host-paths.js';
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
  /** `imageIdentity` of its image as its QEMU opened it, when known (see `OpenedImages`). */
  readonly id?: string;
  /** Those of the backing files under its image, which its QEMU reads, when known. */
  readonly backing?: readonly string[];
}

/**
 * The identity (`imageIdentity`) of each live domain's disk images as its QEMU opened them,
 * learnt when they were checked (create, attach, medium change) or, after a dom0d restart, when
 * first looked at. The checks compare another disk with these, not with what a path names now:
 * the file QEMU writes is the one it opened, whatever was moved to its name since; and a domain
 * whose image's mount hangs since holds up no other domain's create, attach or save (its path
 * is not looked at again).
 */
export class OpenedImages {
  /** By domid: the machine (QEMU pid) the identities are of, and each `vdev\0path`'s (with the image naming it). */
  readonly #byDomain = new Map<number, { readonly pid: number; readonly ids: Map<string, { readonly id: string; readonly under?: string }> }>();

  /** Learns `images` (a check's `checked`) of the machine `pid` of `domid`. */
  learn(domid: number, pid: number, images: readonly CheckedImage[]): void {
    let known = this.#byDomain.get(domid);
    if (known?.pid !== pid) {
      known = { pid, ids: new Map() };
      this.#byDomain.set(domid, known);
    }
    for (const i of images) known.ids.set(`${i.vdev}\0${i.path}`, { id: i.id, ...i.under === undefined ? {} : { under: i.under } });
  }

  /** The identity of `disk`'s image in the machine `pid` of `domid`, when learnt. */
  of(domid: number, pid: number | null, disk: DiskDevice): string | undefined {
    const known = this.#byDomain.get(domid);
    return known === undefined || known.pid !== pid ? undefined : known.ids.get(`${disk.vdev ?? ''}\0${disk.pdev_path ?? ''}`)?.id;
  }

  /** The identities of the files `disk`'s image names (backing, data) in the machine `pid` of `domid`, when learnt. */
  backingOf(domid: number, pid: number | null, disk: DiskDevice): string[] {
    const known = this.#byDomain.get(domid);
    if (known === undefined || known.pid !== pid) return [];
    const vdev = `${disk.vdev ?? ''}\0`;
    return [...known.ids].filter(([k, v]) => k.startsWith(vdev) && v.under !== undefined && v.under === disk.pdev_path).map(([, v]) => v.id);
  }

  /** Forgets the domains not in `domids` (gone). */
  keepOnly(domids: ReadonlySet<number>): void {
    for (const domid of this.#byDomain.keys()) if (!domids.has(domid)) this.#byDomain.delete(domid);
  }
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
  /** This dom0's own directories, which an image's header may not name either (see `hostPrivateDir`). */
  readonly ownDirs?: readonly string[];
  /** Where each image a check passed goes, with its identity as the check saw it (see `unopenedImage`). */
  readonly checked?: CheckedImage[];
}

/**
 * The disks in use on the host and the live machines, from the records: a live machine's disks
 * (`rec.qemuPid` alive), those of one being attached to it, and those of a domain being created,
 * whose QEMU is not running yet (two creates at once each passed the other's disks before).
 * `self`: the domain being created, whose own disks are not another's.
 */
export function diskContext(records: readonly DomainRecord[], self?: number, opened?: OpenedImages): Pick<DiskCheckContext, 'inUse' | 'machines'> {
  const live = records.filter((r) => r.qemuPid !== null && isPidAlive(r.qemuPid));
  const holding = records.filter((r) => r.domid !== self && (live.includes(r) || r.state === 'creating'));
  return {
    inUse: holding.flatMap((r) => [...r.config.disks ?? [], ...r.attaching?.disks ?? [], ...r.lingering?.disks ?? []].map((disk) => {
      const id = opened?.of(r.domid, r.qemuPid, disk);
      const backing = opened?.backingOf(r.domid, r.qemuPid, disk) ?? [];
      return { domid: r.domid, name: r.name, disk, ...id === undefined ? {} : { id }, ...backing.length === 0 ? {} : { backing } };
    })),
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

/** How deep a backing chain may go (QEMU has no limit; a deeper one is a mistake or a trap). */
const MAX_BACKING_CHAIN = 32;

/** Formats a backing file may have: Xen's disk formats, as QEMU's drivers. */
const BACKING_DRIVERS = new Set(['raw', 'qcow', 'qcow2', 'vpc', 'qed']);

/** One disk's check (see `checkDisks`); `others` are the disks it must not clash with. */
class DiskCheck {
  readonly #disk: DiskDevice;
  readonly #ctx: DiskCheckContext;
  readonly #others: readonly DiskOwner[];
  readonly #who: string;
  readonly #path: string;
  /** `imageIdentity` of the disk's image as its check found it (once checked). */
  imageId: string | undefined;

  constructor(disk: DiskDevice, ctx: DiskCheckContext, others: readonly DiskOwner[]) {
    this.#disk = disk;
    this.#ctx = ctx;
    this.#others = others;
    this.#path = disk.pdev_path as string;
    this.#who = `Disk vdev=${disk.vdev ?? '?'} of domain '${ctx.domain.name}'`;
  }

  #fail(what: string, hint: string, code: 'GUEST_FILE' | 'DISK_IMAGE' = 'DISK_IMAGE'): never {
    throw new ToolstackError(code, `${this.#who}: ${what}`, { hint });
  }

  async run(): Promise<ImageChain> {
    const path = this.#path;
    const statErr = statError(path);
    if (statErr !== undefined) {
      throw new ToolstackError('GUEST_FILE', `${this.#who} failed to stat: ${path}: ${statErr}`, { hint: `check the path in ${this.#ctx.where}` });
    }
    this.#isImageKind(path, path);
    const write = writable(this.#disk);
    this.#noClash(path, write, path);
    if (write && statSync(path).isBlockDevice()) {
      const use = blockDeviceUse(path);
      if (use !== undefined) this.#fail(`${path} cannot be written by the guest: ${use}`, `give the domain a device the host does not use, or attach it read-only (access=ro)`);
    }
    const driver = qemuFormatDriver(this.#disk.format) ?? 'raw';
    const probe = await this.#probe(path, driver, path);
    if (probe === undefined) return { backing: [] };
    let dataFile: ChainedImage | undefined;
    if (probe.dataFile !== undefined) {
      await probePaths([probe.dataFile.path]);
      dataFile = { ...this.#reference(probe.dataFile, path, 'its data file'), format: 'raw' };
      this.#noClash(probe.dataFile.path, write, `${path}'s data file ${probe.dataFile.path}`);
    }
    const backing = await this.#backingChain(probe.backing, path);
    return { backing, ...(dataFile === undefined ? {} : { dataFile }) };
  }

  /**
   * A path an image's header names is a plain file name (not `json:`, not a protocol) of a file
   * or block device; resolves with where it is (symlinks followed) and what.
   */
  #reference(ref: ImageReference, of: string, what: string): { path: string; blockDevice: boolean } {
    const colon = ref.name.indexOf(':');
    const slash = ref.name.indexOf('/');
    const hint = `check where ${of} came from (qemu-img info ${of}); ${what} must be a file or block device named by its path`;
    if (ref.name.startsWith('json:') || (colon >= 0 && (slash < 0 || colon < slash))) {
      this.#fail(`${of} names ${shownValue(ref.name, 100)} as ${what}: a QEMU protocol or json: description, which dom0 does not open for a guest`, hint);
    }
    const statErr = statError(ref.path);
    if (statErr !== undefined) this.#fail(`${of} names ${shownValue(ref.name, 100)} as ${what}: ${ref.path}: ${statErr}`, hint);
    this.#isImageKind(ref.path, `${of}'s ${what.replace(/^its /, '')} ${ref.path}`);
    const real = realpathSync(ref.path);
    // An image from elsewhere names what it likes; the user names a host file as a disk of its own when the guest is to see it.
    const system = hostPrivateDir(real, this.#ctx.ownDirs);
    if (system !== undefined) {
      this.#fail(`${of} names ${real} as ${what}, a file of the host's own (${system}), which an image's header does not open for a guest`,
        `check where ${of} came from; a host file the guest must see is given as a disk of its own`);
    }
    const blockDevice = statSync(real).isBlockDevice();
    const use = blockDevice ? blockDeviceUse(real) : undefined;
    if (use !== undefined) {
      this.#fail(`${of} names ${real} as ${what}, a device of the host's own (${use.replace(/^it is /, '')}), which an image's header does not open for a guest`,
        `check where ${of} came from; a host device the guest must see is given as a disk of its own`);
    }
    return { path: real, blockDevice };
  }

  #isImageKind(path: string, said: string): void {
    const st = statSync(path);
    if (!st.isFile() && !st.isBlockDevice()) {
      this.#fail(`${said} is ${fileKind(st)}, not an image file or a block device`, `check the path in ${this.#ctx.where}`, 'GUEST_FILE');
    }
  }

  /**
   * No disk of a live domain opens an image that shares bytes with `path` when either is
   * written (`write`: this disk writes `path`).
   */
  #noClash(path: string, write: boolean, said: string): void {
    const id = imageIdentity(path) as string;
    this.imageId ??= id;
    const top = this.#disk.pdev_path ?? '';
    this.#ctx.checked?.push({ vdev: this.#disk.vdev ?? '', path, id, ...path === top ? {} : { under: top } });
    const clash = this.#others.find((o) => o.disk !== this.#disk && hasMedia(o.disk) && (writable(o.disk) || write) &&
      imagesOverlap(ownerImage(o) ?? '', id));
    if (clash === undefined) {
      // A file another domain's image is layered on: its QEMU reads it, and must see it unchanged.
      const under = write ? this.#others.find((o) => o.disk !== this.#disk && hasMedia(o.disk) && o.backing?.some((b) => imagesOverlap(b, id)) === true) : undefined;
      if (under !== undefined) {
        this.#fail(`${said} is a backing or data file of the image of ${this.#holder(under)}, so it cannot be opened read-write`, 'attach it read-only here (access=ro), or give this disk its own copy');
      }
      return;
    }
    const holder = this.#holder(clash);
    const same = ownerImage(clash) === id;
    const opened = same ? '' : ` as ${clash.disk.pdev_path ?? '?'}`;
    if (writable(clash.disk)) {
      this.#fail(`${said} is open read-write by ${holder}${opened}`, 'an image may be written by one disk only: detach it there first, or give this disk its own copy (or a qcow2 overlay)');
    }
    this.#fail(`${said} is open by ${holder}${opened}, so it cannot be opened read-write`, 'attach it read-only here (access=ro), or detach it there first');
  }

  /** The domain and disk `o` is, in a refusal's words. */
  #holder(o: DiskOwner): string {
    return o.domid === this.#ctx.domain.domid ? `this domain (its disk ${o.disk.vdev ?? '?'})` : `domain '${o.name}' (${o.domid}, its disk ${o.disk.vdev ?? '?'})`;
  }

  /**
   * `qemu-img info` of `path` as `driver`; undefined without qemu-img for a raw image (QEMU's own
   * error then tells), refused for a format whose header names files.
   */
  async #probe(path: string, driver: string, said: string): Promise<(ImageProbe & { status: 'ok' }) | undefined> {
    const probe = await probeImage(path, driver, this.#ctx.arriving === true);
    if (probe.status === 'unknown' && formatHasChain(driver)) {
      this.#fail(`${said} is a ${libxlFormat(driver)} image, whose backing files cannot be checked: qemu-img is not installed`, 'install qemu-utils (qemu-img), or convert the image to raw');
    }
    if (probe.status === 'locked') {
      // Only the descriptors named as the image: the others' files may be on a mount that hangs.
      const pids = processesWithImageOpen(imageIdentity(path) as string, this.#ctx.machines.map((m) => m.pid), { namedAs: [path, realpathSync(path)] });
      const m = this.#ctx.machines.find((x) => pids.includes(x.pid));
      this.#fail(`${said} is open read-write by ${m === undefined ? 'another process' : `domain '${m.name}' (${m.domid})`} (QEMU's image lock)`,
        m === undefined ? `see who has it open: fuser -v ${path}` : 'an image may be written by one disk only: detach it there first, or give this disk its own copy');
    }
    if (probe.status === 'unreadable') {
      const format = libxlFormat(driver);
      const wrong = driver !== 'raw' && /not in .* format|Not a .* image|Unsupported|Invalid|[Ii]mage not in/.test(probe.detail);
      this.#fail(`qemu-img cannot read ${said} as ${format}: ${probe.detail}`,
        wrong ? `check its format (qemu-img info ${path}) and give it in ${this.#ctx.where}` : `check the image (qemu-img info -f ${driver} ${path})`);
    }
    return probe.status === 'ok' ? probe : undefined;
  }

  /**
   * The backing files under the image at `top`, each: named by a plain path, of a format the
   * header records (QEMU would otherwise probe its first bytes), a file or block device no domain
   * writes, readable by qemu-img, and not already in the chain. Resolves with them, top down.
   */
  async #backingChain(first: (ImageReference & { readonly format?: string }) | undefined, top: string): Promise<ChainedImage[]> {
    const seen = [imageIdentity(top) as string];
    const chain: ChainedImage[] = [];
    let backing = first;
    let of = top;
    for (let depth = 1; backing !== undefined; depth++) {
      if (depth > MAX_BACKING_CHAIN) this.#fail(`${top} has more than ${MAX_BACKING_CHAIN} backing files`, `flatten it: qemu-img convert -O qcow2 ${top} NEW.qcow2`);
      // A file the header names, on a mount the request's own paths did not show hung.
      await probePaths([backing.path]);
      const at = this.#reference(backing, of, 'its backing file');
      const said = `${of}'s backing file ${backing.path}`;
      if (backing.format === undefined) {
        this.#fail(`${of} names its backing file ${backing.path} without its format, which QEMU would guess from the file's first bytes`,
          `record it after checking the file: qemu-img rebase -u -F raw|qcow2 -b ${backing.name} ${of}`);
      }
      if (!BACKING_DRIVERS.has(backing.format)) {
        this.#fail(`${said} is of format ${shownValue(backing.format, 40)}, not one of Xen's disk formats`, `convert the chain: qemu-img convert -O qcow2 ${top} NEW.qcow2`);
      }
      const id = imageIdentity(backing.path) as string;
      if (seen.some((s) => imagesOverlap(s, id))) this.#fail(`${said} is already in its backing chain (a loop)`, `check the chain: qemu-img info --backing-chain -U ${top}`);
      seen.push(id);
      this.#noClash(backing.path, false, said);
      const probe = await this.#probe(backing.path, backing.format, said);
      if (probe?.dataFile !== undefined) this.#fail(`${said} has a data file; a backing file with one is not opened for a guest`, `flatten it: qemu-img convert -O qcow2 ${top} NEW.qcow2`);
      chain.push({ ...at, format: backing.format });
      of = backing.path;
      backing = probe?.backing;
    }
    return chain;
  }
}

/**
 * Checks `disks` (in order) for `ctx.domain`; throws the first failure. `disks` may be in
 * `ctx.inUse` already (a domain's own disks are not in conflict with themselves). Resolves with
 * the chain of each disk with media, by vdev, for the medium nodes.
 */
export async function checkDisks(disks: readonly DiskDevice[], ctx: DiskCheckContext): Promise<Record<string, ImageChain>> {
  const others: DiskOwner[] = [...ctx.inUse];
  const chains: Record<string, ImageChain> = {};
  for (const disk of disks) {
    if (hasBlockScript(disk) && formatHasChain(disk.format)) {
      throw new ToolstackError('DISK_IMAGE', `Disk vdev=${disk.vdev ?? '?'} of domain '${ctx.domain.name}': the device its block script makes cannot be a ${disk.format ?? '?'} image, whose backing files dom0 must check first`, {
        hint: `drop format= from the disk in ${ctx.where} (a script's disk is a Xen phy disk: raw)`,
      });
    }
    if (!hasMedia(disk)) continue;
    const check = new DiskCheck(disk, ctx, others);
    chains[disk.vdev ?? ''] = await check.run();
    // With the identity its check found: each later disk compares with it, no stat per pair.
    others.push({ ...ctx.domain, disk, ...(check.imageId === undefined ? {} : { id: check.imageId }) });
  }
  return chains;
}

/** An image a disk's check passed: what the disk's QEMU must then have open. */
export interface CheckedImage {
  readonly vdev: string;
  readonly path: string;
  /** `imageIdentity` of it right after the check. */
  readonly id: string;
  /** The disk's image whose header names it (a backing or data file); none for that image itself. */
  readonly under?: string;
}

/**
 * The first of `images` QEMU `pid` does not hold open once started: a file replaced between its
 * check and QEMU's open of it (a symlink to /dev/sda swapped in by whoever may write its
 * directory), which QEMU opened unchecked; undefined when it holds them all.
 */
export function unopenedImage(images: readonly CheckedImage[], pid: number, openBefore?: ReadonlySet<string>): CheckedImage | undefined {
  return images.find((i) => processesWithImageOpen(i.id, [pid], openBefore === undefined ? {} : { skip: openBefore }).length === 0);
}

/**
 * Throws DISK_IMAGE when QEMU `pid` of domain `name` does not hold `images` open (see
 * `unopenedImage`). `openBefore`: its descriptors from before it opened them (`openFds`), not
 * looked at — a running QEMU's other images may be on a mount that hangs.
 */
export function refuseSwappedImage(images: readonly CheckedImage[], pid: number, name: string, openBefore?: ReadonlySet<string>): void {
  const swapped = unopenedImage(images, pid, openBefore);
  if (swapped === undefined) return;
  throw new ToolstackError('DISK_IMAGE', `Disk vdev=${swapped.vdev} of domain '${name}': ${swapped.path} was replaced between its check and QEMU's open of it`, {
    hint: 'another process changed the file or a directory on its path: keep disk images where only root can write',
  });
}

/**
 * What a user should know of `disks` before the guest sees them: a disk opened as raw (its spec's
 * format, or none) whose file begins like another format's image. Not refused: the guest may
 * have written those bytes itself, and opening it as that format would hand the guest the files
 * its header names.
 */
export function diskWarnings(disks: readonly DiskDevice[], where: string): string[] {
  return disks.filter((d) => hasMedia(d) && qemuFormatDriver(d.format) === 'raw').flatMap((d) => {
    const path = d.pdev_path as string;
    const magic = imageMagic(path);
    if (magic === undefined) return [];
    const format = libxlFormat(magic);
    const known = qemuFormatDriver(format) === magic;
    return [`Disk vdev=${d.vdev ?? '?'}: ${path} begins as a ${format} image but is opened as raw (its spec's format, raw by default): the guest sees the image's own bytes. ` +
      (known ? `If the host made it as ${format}, give format=${format} in ${where}` : `If the host made it as ${format}, convert it (qemu-img convert -O qcow2 ${path} NEW.qcow2)`)];
  });
}
