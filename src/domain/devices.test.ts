import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { parseDiskSpec } from '../config/index.js';
import type { DomainConfig } from '../config/index.js';
import { checkDistinctDevices, deviceNodes, deviceNotFound, findDevice, replaceDevice, slotMates, withDevice, withDeviceDefaults } from './devices.js';

const config: DomainConfig = {
  c_info: { type: 'hvm', name: 'web' },
  nics: [{ devid: 0, mac: '00:16:3e:00:00:01', bridge: 'xenbr0' }, { devid: 2, mac: '00:16:3e:00:00:02', bridge: 'br1', script: 'vif-route' }],
};

test('a vif is found as xl network-detach reads its argument: MAC with a colon, else atoi of the devid', () => {
  const mac = (ref: string): string | undefined => {
    const d = findDevice(config, 'vif', ref);
    return d?.kind === 'vif' ? d.nic.mac : undefined;
  };
  assert.equal(mac('00:16:3E:00:00:02'), '00:16:3e:00:00:02');
  assert.equal(mac('2'), '00:16:3e:00:00:02');
  assert.equal(mac('2abc'), '00:16:3e:00:00:02');
  assert.equal(mac('junk'), '00:16:3e:00:00:01', 'atoi("junk") is 0');
  assert.equal(mac('1'), undefined);
  assert.equal(mac('00:16:3e:00:00:09'), undefined);
  assert.equal(deviceNotFound('vif', '7', 'web').message, 'Unknown device 7.');
});

test('a vif added to a running domain gets the next devid and a generated MAC; a taken devid is refused', () => {
  const added = withDeviceDefaults(config, { kind: 'vif', nic: { bridge: 'xenbr0' } });
  assert.ok(added.kind === 'vif');
  assert.equal(added.nic.devid, 3);
  assert.match(added.nic.mac ?? '', /^00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2}$/);
  assert.equal(added.nic.nictype, 'vif_ioemu');
  const grown = withDevice(config, added, 'web');
  assert.deepEqual(grown.nics?.map((n) => n.devid), [0, 2, 3]);
  assert.deepEqual(replaceDevice(grown, added, undefined).nics?.map((n) => n.devid), [0, 2]);
  assert.throws(() => withDevice(config, { kind: 'vif', nic: { devid: 2 } }, 'web'), (e: unknown) => isToolstackError(e, 'DEVICE_EXISTS'));
});

test('a vif\'s nodes record its script as libxl does: absolute, vif-bridge by default', () => {
  const [first, second] = config.nics ?? [];
  const nodes = (nic: typeof first) => deviceNodes(config, 5, { kind: 'vif', nic: nic ?? {} }, '/etc/xen/scripts');
  assert.equal(nodes(first)?.back['script'], '/etc/xen/scripts/vif-bridge');
  assert.equal(nodes(second)?.back['script'], '/etc/xen/scripts/vif-route');
  assert.equal(nodes(second)?.back['bridge'], 'br1');
  assert.equal(nodes(second)?.front['handle'], '2');
  assert.equal(nodes(second)?.devid, 2);
});

test('a disk\'s nodes as libxl writes them: qdisk for images, vbd with a script for phy: and block scripts', () => {
  const hvm: DomainConfig = { c_info: { type: 'hvm', name: 'web' } };
  const nodes = (spec: string) => deviceNodes(hvm, 5, { kind: 'vbd', disk: parseDiskSpec([spec]) }, '/etc/xen/scripts');
  const image = nodes('/i.qcow2,qcow2,xvdb,w');
  assert.deepEqual([image?.backendKind, image?.devid, image?.back['params'], image?.back['script'], image?.back['mode'], image?.front['trusted']],
    ['qdisk', 51728, 'qcow2:/i.qcow2', undefined, 'w', '1']);
  const phy = nodes('phy:/dev/loop1,xvdc,r,untrusted');
  assert.deepEqual([phy?.backendKind, phy?.back['params'], phy?.back['script'], phy?.back['type'], phy?.back['discard-enable'], phy?.front['trusted']],
    ['vbd', '/dev/loop1', '/etc/xen/scripts/block', 'phy', '0', '0']);
  const iscsi = nodes('vdev=xvdd, access=rw, script=block-iscsi, target=iqn.2024-01.test:disk');
  assert.deepEqual([iscsi?.backendKind, iscsi?.back['params'], iscsi?.back['script'], iscsi?.back['type']],
    ['vbd', 'iqn.2024-01.test:disk', '/etc/xen/scripts/block-iscsi', 'phy']);
  assert.equal(nodes('drbd:res0,xvde,w')?.back['script'], '/etc/xen/scripts/block-drbd');
  assert.equal(nodes('vdev=xvdf, script=/opt/blk, target=x')?.back['script'], '/opt/blk');
  // An HVM CD-ROM is QEMU's (its media change through QEMU) even on a block device.
  assert.equal(nodes('vdev=hdc, devtype=cdrom, target=/dev/sr0')?.backendKind, 'qdisk');
});

test('PCI functions: found by BDF or name, libxl\'s not-attached line; the devid is libxl\'s encoded BDF', () => {
  const c: DomainConfig = { pcidevs: [{ domain: 0, bus: 3, dev: 0, func: 1, name: 'gpu' }, { domain: 0, bus: 4, dev: 2, func: 0 }] };
  const bdf = (ref: string): string | undefined => {
    const d = findDevice(c, 'pci', ref);
    return d?.kind === 'pci' ? `${d.pci.bus}:${d.pci.dev}.${d.pci.func}` : undefined;
  };
  assert.equal(bdf('0000:03:00.1'), '3:0.1');
  assert.equal(bdf('04:02.0@7'), '4:2.0');
  assert.equal(bdf('name=gpu'), '3:0.1');
  assert.equal(bdf('03:00.0'), undefined);
  assert.equal(deviceNotFound('pci', '03:00.0', 'web').message, 'PCI device not attached to this domain');
  assert.throws(() => withDevice(c, { kind: 'pci', pci: { domain: 0, bus: 4, dev: 2, func: 0, vdevfn: 8 } }, 'web'), { code: 'DEVICE_EXISTS' });
  assert.equal(deviceNodes(c, 3, { kind: 'pci', pci: { bus: 3 } }, '/etc/xen/scripts'), undefined);
  // The functions of one device on v-slot 6: function 0 (found by BB:DD.*) takes the others along.
  const multi: DomainConfig = { pcidevs: [1, 2, 0].map((func) => ({ domain: 0, bus: 5, dev: 0, func, vdevfn: (6 << 3) | func })) };
  const f0 = findDevice(multi, 'pci', '05:00.*@6');
  assert.ok(f0?.kind === 'pci' && f0.pci.func === 0);
  assert.deepEqual(slotMates(multi, f0).map((d) => (d.kind === 'pci' ? d.pci.func : -1)), [1, 2]);
  const f1 = findDevice(multi, 'pci', '05:00.1');
  assert.ok(f1 !== undefined);
  assert.deepEqual(slotMates(multi, f1), []);
});

test('USB: a device placed on a controller the domain lacks brings libxl\'s default one; a controller leaves with its devices', () => {
  const c: DomainConfig = { usbctrls: [{ devid: 0, type: 'devicemodel', version: 1, ports: 2 }], usbdevs: [{ ctrl: 0, port: 1 }, { ctrl: 0, port: 2 }] };
  const dev = withDeviceDefaults(c, { kind: 'usbdev', usbdev: { u: { hostdev: { hostbus: 2, hostaddr: 9 } } } });
  assert.ok(dev.kind === 'usbdev');
  assert.deepEqual([dev.usbdev.ctrl, dev.usbdev.port], [1, 1]);
  const grown = withDevice(c, dev, 'web');
  assert.deepEqual(grown.usbctrls?.map((u) => [u.devid, u.version, u.ports]), [[0, 1, 2], [1, 2, 6]]);
  assert.equal(findDevice(grown, 'usbdev', '1:1')?.kind, 'usbdev');
  assert.equal(findDevice(grown, 'usbdev', '1:2'), undefined);
  assert.equal(deviceNotFound('usbdev', '1:2', 'web').message, 'Unknown device at controller 1 port 2.');
  const ctrl = withDeviceDefaults(grown, { kind: 'vusb', usbctrl: { devid: -1, version: 3 } });
  assert.ok(ctrl.kind === 'vusb');
  assert.deepEqual([ctrl.usbctrl.devid, ctrl.usbctrl.ports], [2, 8]);
  const first = findDevice(grown, 'vusb', '0');
  assert.ok(first !== undefined);
  const less = replaceDevice(grown, first, undefined);
  assert.deepEqual([less.usbctrls?.map((u) => u.devid), less.usbdevs?.map((u) => u.ctrl)], [[1], [1]]);
  assert.equal(deviceNotFound('vusb', '9', 'web').message, 'Unknown device 9.');
});

test('a new domain\'s config with two devices of one kind and devid is refused, naming both (before: QEMU failed on the second vif)', () => {
  const twoVifs: DomainConfig = { nics: [{ devid: 1, mac: '00:16:3e:00:00:01' }, { devid: 1, mac: '00:16:3e:00:00:02' }] };
  assert.throws(() => checkDistinctDevices(twoVifs, 'g'), (e: unknown) => isToolstackError(e, 'DEVICE_EXISTS') && e.message === 'Cannot add vif 1 to domain \'g\': it has vif 1 already (devid 1)');
  checkDistinctDevices({ nics: [{ devid: 0 }, { devid: 1 }], vkbs: [{ devid: 0 }] }, 'g');
});
