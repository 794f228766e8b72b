import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BugError, isToolstackError } from '../../common/index.js';
import { parseDiskSpec } from '../../config/index.js';
import type { DomainConfig } from '../../config/index.js';
import { diskMediumNode, diskWirings, hotplugDiskWiring } from './storage.js';

const guest = (type: 'pv' | 'pvh' | 'hvm', ...specs: string[]): DomainConfig => ({
  c_info: { type, name: 'g' }, b_info: { type }, disks: specs.map((s) => parseDiskSpec([s])),
});

test('a hot-plugged disk is wired as at boot: device id = vdev, node drive-<vdev>, virtio serial = vdev', () => {
  const config = guest('pv', '/a.img,raw,xvda,w');
  const disk = parseDiskSpec(['format=qcow2,vdev=xvdb,access=rw,target=/b.qcow2']);
  const hot = hotplugDiskWiring(config, disk, { backing: [] });
  const boot = diskWirings({ ...config, disks: [...(config.disks ?? []), disk] }, { xvdb: { backing: [] } }).find((w) => w.vdev === 'xvdb');
  assert.deepEqual(hot, boot);
  assert.deepEqual(hot.device, { driver: 'virtio-blk-pci', id: 'xvdb', drive: 'drive-xvdb', serial: 'xvdb' });
  assert.deepEqual(hot.node, {
    'node-name': 'drive-xvdb', driver: 'qcow2', 'read-only': false, discard: 'unmap',
    file: { driver: 'file', filename: '/b.qcow2', 'read-only': false }, backing: null,
  });
});

test('what an image header names is the checked chain: nested backing nodes, null below the last, the data file; none unchecked', () => {
  const disk = parseDiskSpec(['/top.qcow2,qcow2,xvda,w']);
  const node = diskMediumNode(disk, {
    backing: [{ path: '/mid.qed', format: 'qed', blockDevice: false }, { path: '/dev/loop7', format: 'raw', blockDevice: true }],
    dataFile: { path: '/data.raw', format: 'raw', blockDevice: false },
  });
  assert.deepEqual({ backing: node['backing'], data: node['data-file'] }, {
    backing: {
      driver: 'qed', 'read-only': true, file: { driver: 'file', filename: '/mid.qed', 'read-only': true },
      backing: { driver: 'raw', 'read-only': true, file: { driver: 'host_device', filename: '/dev/loop7', 'read-only': true } },
    },
    data: { driver: 'file', filename: '/data.raw', 'read-only': false },
  });
  // A format with backing files and no checked chain is never left to the header.
  for (const format of ['qcow2', 'qcow', 'qed']) assert.throws(() => diskMediumNode({ ...disk, format: format as 'qcow2' }), BugError, format);
  // Formats without backing files need none.
  for (const spec of ['/r.img,raw,xvda,w', '/v.vhd,vhd,xvda,w']) assert.equal(diskMediumNode(parseDiskSpec([spec]))['backing'], undefined, spec);
});

test('disk spec options reach the medium node: phy: is host_device, access=ro, no-discard, direct-io-safe, vhd is vpc', () => {
  const node = (spec: string): unknown => diskMediumNode(parseDiskSpec([spec]));
  assert.deepEqual(node('phy:/dev/loop3,xvdc,r'), {
    'node-name': 'drive-xvdc', driver: 'raw', 'read-only': true, file: { driver: 'host_device', filename: '/dev/loop3', 'read-only': true },
  });
  assert.deepEqual(node('/v.vhd,vhd,xvdd,w,no-discard,direct-io-safe'), {
    'node-name': 'drive-xvdd', driver: 'vpc', 'read-only': false, cache: { direct: true },
    file: { driver: 'file', filename: '/v.vhd', 'read-only': false, aio: 'native', cache: { direct: true } },
  });
  assert.equal(diskMediumNode(parseDiskSpec(['tap:qcow2:/q.qcow2,xvde,w']), { backing: [] }).driver, 'qcow2');
  assert.equal((node('tap2:aio:/r.img,xvdf,w') as { driver: string }).driver, 'raw');
  assert.equal((node('file:/f.img,xvdg,w') as { file: { driver: string } }).file.driver, 'file');
  assert.equal((node('vdev=xvdh,access=ro,devtype=cdrom,target=/c.iso') as { 'read-only': boolean })['read-only'], true);
  // A block script's disk reaches the builder as the device the script made.
  assert.equal((diskMediumNode({ ...parseDiskSpec(['vdev=xvdi,script=block-iscsi,target=iqn.x']), pdev_path: '/dev/sdz' }).file as { driver: string }).driver, 'host_device');
});

test('HVM: IDE and AHCI places cannot be hot-plugged (NOT_SUPPORTED, one line); xvde and beyond are virtio', () => {
  const config = guest('hvm', '/a.img,raw,hda,w', ',hdc:cdrom,r');
  assert.equal(hotplugDiskWiring(config, parseDiskSpec(['/b.img,raw,xvde,w'])).bus, 'virtio');
  for (const spec of ['/b.img,raw,hdb,w', '/b.img,raw,xvdb,w', '/b.img,raw,sda,w', '/c.iso,raw,hdd:cdrom,r']) {
    assert.throws(() => hotplugDiskWiring(config, parseDiskSpec([spec])), (e: unknown) =>
      isToolstackError(e, 'NOT_SUPPORTED') && /^Cannot hot-plug disk \w+ into domain 'g': on an HVM domain \w+ is an emulated (IDE|AHCI \(SATA\)) (disk|CD-ROM drive), and (IDE|AHCI) cannot hot-plug$/.test(e.message), spec);
  }
  // The same checks as at boot: a vdev already there is refused.
  assert.throws(() => hotplugDiskWiring(config, parseDiskSpec(['/b.img,raw,hda,w'])), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
});

test('a vdev Xen does not number is refused as libxl refuses it, at boot and at hot-plug', () => {
  for (const vdev of ['xvdzzzzzz', 'hda99', 'sdq', 'sda16', 'xvda256', 'xvdaaaaaaaaaaaaaaaaaaaaaaa']) {
    const check = (e: unknown): boolean => isToolstackError(e, 'CFG_VALUE') && e.message.endsWith(`: Invalid or unsupported virtual disk identifier ${vdev}`);
    assert.throws(() => diskWirings(guest('pv', `/a.img,raw,${vdev},w`)), check, vdev);
    assert.throws(() => hotplugDiskWiring(guest('pv', '/a.img,raw,xvda,w'), parseDiskSpec([`/b.img,raw,${vdev},w`])), check, vdev);
  }
  for (const vdev of ['xvdzzz', 'hdd63', 'sdp15', 'xvda255', 'xvdq']) assert.equal(diskWirings(guest('pv', `/a.img,raw,${vdev},w`)).length, 1, vdev);
});
