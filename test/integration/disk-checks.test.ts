// What dom0 checks of a disk on the host before QEMU opens it, against real images (qemu-img) and
// real loop devices: the files an image's header names (backing files down the chain, a qcow2
// data file) are checked as the image is, so that an image from elsewhere cannot hand its guest a
// host file or make QEMU connect anywhere; a disk is never probed for its format (a guest writes
// its raw disk's first bytes itself), a raw disk that begins like a qcow2 image only gets a
// warning; a writable `phy:` device the host uses (a partition of it mounted) is refused, and so
// is a partition of another domain's disk. An end-to-end case through `xl block-attach` is in
// hotplug.test.ts. Loop devices, the mount and the listening socket are removed at the end.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DiskDevice } from '../../src/config/index.js';
import { checkDisks, diskWarnings, OpenedImages, unopenedImage } from '../../src/domain/disk-checks.js';
import { imageIdentity } from '../../src/storage/index.js';
import type { CheckedImage, DiskOwner } from '../../src/domain/disk-checks.js';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'dom0-disk-checks-'));
const file = (name: string): string => join(dir, name);
const loops: string[] = [];
let mounted: string | undefined;
let server: Server | undefined;
let connections = 0;
let port = 0;

before(async () => {
  writeFileSync(file('base.raw'), Buffer.alloc(1 << 20));
  img('create', '-f', 'qcow2', '-F', 'raw', '-b', file('base.raw'), file('overlay.qcow2'));
  server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  if (mounted !== undefined) execFileSync('umount', [mounted]);
  for (const l of loops.reverse()) {
    execFileSync('partx', ['-d', l], { stdio: 'ignore' });
    execFileSync('losetup', ['-d', l]);
  }
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function img(...args: string[]): void {
  execFileSync('qemu-img', [...args.slice(0, 1), '-q', ...args.slice(1)]);
}

/** A qcow2 image at `name` whose header names `backing` (of `format`) as written, unchecked by qemu-img. */
function overlayNaming(name: string, backing: string, format = 'raw'): string {
  img('create', '-f', 'qcow2', '-u', '-F', format, '-b', backing, file(name), '1M');
  return file(name);
}

function disk(path: string, format: NonNullable<DiskDevice['format']>, vdev = 'xvda', readwrite = 1): DiskDevice {
  return { pdev_path: path, format, vdev, readwrite, is_cdrom: 0 };
}

/** checkDisks of `disks` for domain 't' (1), beside `inUse`; resolves with the error's one line, or '' when they pass. */
async function check(disks: DiskDevice[], inUse: DiskOwner[] = []): Promise<string> {
  try {
    await checkDisks(disks, { domain: { domid: 1, name: 't' }, inUse, machines: [], where: 'disk= in t.cfg' });
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

const who = "Disk vdev=xvda of domain 't'";

test('a qcow2 overlay on a raw base passes; its chain is checked as it goes: missing, loops, no format, not Xen\'s', async () => {
  assert.equal(await check([disk(file('overlay.qcow2'), 'qcow2')]), '');
  const missing = overlayNaming('missing.qcow2', file('nope.raw'));
  assert.equal(await check([disk(missing, 'qcow2')]), `${who}: ${missing} names "${file('nope.raw')}" as its backing file: ${file('nope.raw')}: No such file or directory`);
  const a = overlayNaming('a.qcow2', file('b.qcow2'), 'qcow2');
  overlayNaming('b.qcow2', file('a.qcow2'), 'qcow2');
  assert.equal(await check([disk(a, 'qcow2')]), `${who}: ${file('b.qcow2')}'s backing file ${a} is already in its backing chain (a loop)`);
  // A header with no backing format (images made before qemu-img required one): QEMU would probe the base.
  const unformatted = overlayNaming('unformatted.qcow2', file('base.raw'));
  const bytes = readFileSync(unformatted);
  const at = bytes.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
  assert.ok(at > 0 && at < 4096);
  bytes.writeUInt32BE(0x1234_5678, at); // an unknown header extension, which QEMU skips
  writeFileSync(unformatted, bytes);
  assert.match(await check([disk(unformatted, 'qcow2')]), new RegExp(`^${who}: ${unformatted} names its backing file ${file('base.raw')} without its format, `));
  const vmdk = file('base.vmdk');
  img('create', '-f', 'vmdk', vmdk, '1M');
  const onVmdk = overlayNaming('on-vmdk.qcow2', vmdk, 'vmdk');
  assert.equal(await check([disk(onVmdk, 'qcow2')]), `${who}: ${onVmdk}'s backing file ${vmdk} is of format "vmdk", not one of Xen's disk formats`);
});

test('an image cannot hand its guest a host file or make QEMU connect anywhere', async () => {
  const passwd = overlayNaming('passwd.qcow2', '/etc/passwd');
  assert.equal(await check([disk(passwd, 'qcow2')]), `${who}: ${passwd} names /etc/passwd as its backing file, a file of the host's own (/etc), which an image's header does not open for a guest`);
  // Through a link too: the real path is what is looked at.
  execFileSync('ln', ['-s', '/etc/passwd', file('innocent.raw')]);
  const linked = overlayNaming('linked.qcow2', 'innocent.raw');
  assert.match(await check([disk(linked, 'qcow2')]), /names \/etc\/passwd as its backing file, a file of the host's own \(\/etc\)/);
  // This dom0's own directories where they are not the default ones (its API token, records, consoles).
  mkdirSync(file('own-state'), { recursive: true });
  writeFileSync(file('own-state/api-token'), 'secret');
  const token = overlayNaming('token.qcow2', file('own-state/api-token'));
  assert.equal(await check([disk(token, 'qcow2')]), '');
  let refused = '';
  try {
    await checkDisks([disk(token, 'qcow2')], { domain: { domid: 1, name: 't' }, inUse: [], machines: [], where: 'disk= in t.cfg', ownDirs: [file('own-state')] });
  } catch (e) {
    refused = (e as Error).message;
  }
  assert.equal(refused, `${who}: ${token} names ${file('own-state/api-token')} as its backing file, a file of the host's own (${file('own-state')}), which an image's header does not open for a guest`);
  const json = `json:{"driver":"nbd","server":{"type":"inet","host":"127.0.0.1","port":"${port}"},"export":"x"}`;
  const viaJson = overlayNaming('json.qcow2', json);
  assert.match(await check([disk(viaJson, 'qcow2')]), new RegExp(`^${who}: ${viaJson} names "json:\\{.*\\.\\.\\. as its backing file: a QEMU protocol or json: description, which dom0 does not open for a guest$`));
  const viaNbd = overlayNaming('nbd.qcow2', `nbd:127.0.0.1:${port}`);
  assert.equal(await check([disk(viaNbd, 'qcow2')]), `${who}: ${viaNbd} names "nbd:127.0.0.1:${port}" as its backing file: a QEMU protocol or json: description, which dom0 does not open for a guest`);
  const char = overlayNaming('char.qcow2', '/dev/zero');
  assert.equal(await check([disk(char, 'qcow2')]), `${who}: ${char}'s backing file /dev/zero is a character device, not an image file or a block device`);
  assert.equal(connections, 0);
  // A guest writes a qcow2 header naming a host file into its raw disk: opened as raw it stays
  // raw (never probed); the warning does not send the user to open it as qcow2 blindly; as
  // qcow2, its backing file is refused.
  const guestDisk = file('guest.raw');
  writeFileSync(guestDisk, readFileSync(passwd));
  assert.equal(await check([disk(guestDisk, 'raw')]), '');
  assert.deepEqual(diskWarnings([disk(guestDisk, 'raw')], 'disk= in t.cfg'), [
    `Disk vdev=xvda: ${guestDisk} begins as a qcow2 image but is opened as raw (its spec's format, raw by default): the guest sees the image's own bytes. If the host made it as qcow2, give format=qcow2 in disk= in t.cfg`,
  ]);
  assert.deepEqual(diskWarnings([disk(file('base.raw'), 'raw'), disk(file('overlay.qcow2'), 'qcow2')], 'x'), []);
  assert.match(await check([disk(guestDisk, 'qcow2')]), /names \/etc\/passwd as its backing file, a file of the host's own/);
  assert.equal(await check([disk(file('base.raw'), 'qcow2')]),
    `${who}: qemu-img cannot read ${file('base.raw')} as qcow2: Could not open '${file('base.raw')}': Image is not in qcow2 format`);
});

test('files an image names clash with other domains\' disks as the image would: a written base, a data file', async () => {
  const other = (d: DiskDevice): DiskOwner => ({ domid: 7, name: 'other', disk: d });
  assert.equal(await check([disk(file('overlay.qcow2'), 'qcow2')], [other(disk(file('base.raw'), 'raw', 'xvdb', 1))]),
    `${who}: ${file('overlay.qcow2')}'s backing file ${file('base.raw')} is open read-write by domain 'other' (7, its disk xvdb)`);
  assert.equal(await check([disk(file('overlay.qcow2'), 'qcow2')], [other(disk(file('base.raw'), 'raw', 'xvdb', 0))]), '');
  img('create', '-f', 'qcow2', '-o', `data_file=${file('data.raw')}`, file('external.qcow2'), '1M');
  assert.equal(await check([disk(file('external.qcow2'), 'qcow2')], [other(disk(file('data.raw'), 'raw', 'xvdb', 0))]),
    `${who}: ${file('external.qcow2')}'s data file ${file('data.raw')} is open by domain 'other' (7, its disk xvdb), so it cannot be opened read-write`);
  assert.equal(await check([disk(file('external.qcow2'), 'qcow2')]), '');
  const onExternal = overlayNaming('on-external.qcow2', file('external.qcow2'), 'qcow2');
  assert.equal(await check([disk(onExternal, 'qcow2', 'xvda', 0)]), `${who}: ${onExternal}'s backing file ${file('external.qcow2')} has a data file; a backing file with one is not opened for a guest`);
});

test('a file another domain\'s image is layered on is not written by a disk: the domain is named (QEMU\'s lock said only "another process")', async () => {
  const layered: DiskOwner = { domid: 7, name: 'other', disk: disk(file('overlay.qcow2'), 'qcow2', 'xvdb', 1), backing: [imageIdentity(file('base.raw')) as string] };
  assert.equal(await check([disk(file('base.raw'), 'raw')], [layered]),
    `${who}: ${file('base.raw')} is a backing or data file of the image of domain 'other' (7, its disk xvdb), so it cannot be opened read-write`);
  assert.equal(await check([disk(file('base.raw'), 'raw', 'xvda', 0)], [layered]), '');
  // Learnt from a check of the other domain's disk, as dom0d learns what each QEMU opened.
  const checked: CheckedImage[] = [];
  await checkDisks([disk(file('overlay.qcow2'), 'qcow2', 'xvdb')], { domain: { domid: 7, name: 'other' }, inUse: [], machines: [], where: 'disk= in other.cfg', checked });
  const opened = new OpenedImages();
  opened.learn(7, 4242, checked);
  assert.deepEqual(opened.backingOf(7, 4242, layered.disk), layered.backing);
  assert.deepEqual(opened.backingOf(7, 4243, layered.disk), []);
  // A check of another image for the same vdev (an attach refused after it) names none of it.
  const other: CheckedImage[] = [];
  await checkDisks([disk(file('overlay.qcow2'), 'qcow2', 'xvdb')], { domain: { domid: 7, name: 'other' }, inUse: [], machines: [], where: 'disk= in other.cfg', checked: other });
  opened.learn(7, 4242, other.map((c) => ({ ...c, vdev: 'xvdc' })));
  assert.deepEqual(opened.backingOf(7, 4242, disk(file('base.raw'), 'raw', 'xvdc')), []);
});

test('what was checked is what QEMU opens (the chain, real paths, formats); qcow2 needs qemu-img; a block script\'s disk is raw', async () => {
  img('create', '-f', 'qcow2', '-F', 'raw', '-b', file('base.raw'), file('mid.qcow2'));
  symlinkSync('mid.qcow2', file('mid-link.qcow2'));
  const top = overlayNaming('top.qcow2', 'mid-link.qcow2', 'qcow2');
  const chains = await checkDisks([disk(top, 'qcow2'), disk(file('external.qcow2'), 'qcow2', 'xvdb', 0), disk(file('base.raw'), 'raw', 'xvdc', 0)],
    { domain: { domid: 1, name: 't' }, inUse: [], machines: [], where: 'disk= in t.cfg' });
  assert.deepEqual(chains, {
    xvda: { backing: [{ path: file('mid.qcow2'), format: 'qcow2', blockDevice: false }, { path: file('base.raw'), format: 'raw', blockDevice: false }] },
    xvdb: { backing: [], dataFile: { path: file('data.raw'), format: 'raw', blockDevice: false } },
    xvdc: { backing: [] },
  });
  const path = process.env['PATH'];
  process.env['PATH'] = file('no-tools');
  try {
    assert.equal(await check([disk(top, 'qcow2')]), `${who}: ${top} is a qcow2 image, whose backing files cannot be checked: qemu-img is not installed`);
    assert.equal(await check([disk(file('base.raw'), 'raw')]), '');
  } finally {
    process.env['PATH'] = path;
  }
  assert.equal(await check([{ ...disk('iqn.2001-04.com.example:t', 'qcow2'), script: 'block-iscsi' }]),
    `${who}: the device its block script makes cannot be a qcow2 image, whose backing files dom0 must check first`);
});

test('phy: a device the host uses is not written by a guest, nor a partition of another domain\'s disk', { skip: !isRoot && 'needs root (loop devices, mount)' }, async () => {
  // A 16 MiB loop device with one partition (an MBR written here; partx makes its node).
  const image = Buffer.alloc(16 << 20);
  image.writeUInt8(0x83, 0x1be + 4);
  image.writeUInt32LE(2048, 0x1be + 8);
  image.writeUInt32LE(8192, 0x1be + 12);
  image.writeUInt16LE(0xaa55, 510);
  writeFileSync(file('parted.img'), image);
  const dev = execFileSync('losetup', ['-f', '--show', file('parted.img')], { encoding: 'utf8' }).trim();
  loops.push(dev);
  execFileSync('partx', ['-a', dev]);
  const part = `${dev}p1`;
  const phy = (path: string, vdev = 'xvda', rw = 1): DiskDevice => ({ ...disk(path, 'raw', vdev, rw), backend: 'phy' });
  assert.equal(await check([phy(dev)]), '');
  assert.equal(await check([phy(part)], [{ domid: 7, name: 'other', disk: phy(dev, 'xvdb') }]),
    `${who}: ${part} is open read-write by domain 'other' (7, its disk xvdb) as ${dev}`);
  assert.equal(await check([phy(dev)], [{ domid: 7, name: 'other', disk: phy(part, 'xvdb', 0) }]),
    `${who}: ${dev} is open by domain 'other' (7, its disk xvdb) as ${part}, so it cannot be opened read-write`);
  execFileSync('mkfs.ext4', ['-q', '-F', part]);
  mkdirSync(file('mnt'));
  execFileSync('mount', [part, file('mnt')]);
  mounted = file('mnt');
  assert.equal(await check([phy(dev)]), `${who}: ${dev} cannot be written by the guest: it is mounted on the host at ${file('mnt')} (a partition of it)`);
  assert.equal(await check([phy(part)]), `${who}: ${part} cannot be written by the guest: it is mounted on the host at ${file('mnt')}`);
  assert.equal(await check([phy(part, 'xvda', 0)]), '');
  // An image naming a host disk in use as its backing file would hand the guest that disk.
  const onHostDisk = overlayNaming('on-host-disk.qcow2', dev);
  assert.equal(await check([disk(onHostDisk, 'qcow2')]),
    `${who}: ${onHostDisk} names ${dev} as its backing file, a device of the host's own (mounted on the host at ${file('mnt')} (a partition of it)), which an image's header does not open for a guest`);
  execFileSync('umount', [file('mnt')]);
  mounted = undefined;
  assert.equal(await check([phy(dev)]), '');
  assert.equal(await check([disk(onHostDisk, 'qcow2')]), '');
});

test('what was checked must be what QEMU opened: an image replaced between the check and the open is found (its chain\'s files too)', async () => {
  const disk: DiskDevice = { pdev_path: file('overlay.qcow2'), vdev: 'xvda', format: 'qcow2', readwrite: 1 };
  const checked: CheckedImage[] = [];
  await checkDisks([disk], { domain: { domid: 9, name: 'd' }, inUse: [], machines: [], where: 'disk=', checked });
  assert.deepEqual(checked.map((c) => c.path), [file('overlay.qcow2'), file('base.raw')]);
  // A process holding both open, as QEMU does; then one holding a file swapped in under the base's name.
  const holder = (paths: string[]): Promise<number> => new Promise((resolve) => {
    const fds = paths.map((p) => openSync(p, 'r'));
    const c = spawn('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore', ...fds] });
    for (const fd of fds) closeSync(fd);
    c.on('spawn', () => resolve(c.pid as number));
  });
  const both = await holder([file('overlay.qcow2'), file('base.raw')]);
  assert.equal(unopenedImage(checked, both), undefined);
  renameSync(file('base.raw'), file('base.raw.orig'));
  writeFileSync(file('base.raw'), Buffer.alloc(1 << 20));
  const swapped = await holder([file('overlay.qcow2'), file('base.raw')]);
  assert.deepEqual(unopenedImage(checked, swapped), checked[1]);
  renameSync(file('base.raw.orig'), file('base.raw'));
  for (const pid of [both, swapped]) process.kill(pid, 'SIGKILL');
});
