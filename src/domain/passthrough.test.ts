import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeHostDevices } from '../../test/support/fake-host-devices.js';
import { parsePciSpec } from '../config/index.js';
import type { DomainConfig } from '../config/index.js';
import { startXenstored } from '../xenstore/index.js';
import type { XenstoreClient, XenstoredHandle } from '../xenstore/index.js';
import { Passthrough, usbHolders } from './passthrough.js';
import type { DeviceHolder } from './passthrough.js';

const IOMMU_HINT = 'VFIO passthrough needs an IOMMU: enable VT-d (Intel) or AMD-Vi (AMD) in the firmware and boot the host with intel_iommu=on or amd_iommu=on';
const web = { domid: 3, name: 'web' };

let dir: string;
let xsd: XenstoredHandle;
let xs: XenstoreClient;
const iommu = new FakeHostDevices();
const bare = new FakeHostDevices();

before(async () => {
  dir = mkdtempSync('/tmp/dom0-passthrough-');
  xsd = await startXenstored({ socketPath: join(dir, 'socket'), stateDir: join(dir, 'state') });
  xs = xsd.connect();
  iommu.pciDevice('0000:03:00.0', { group: '7', driver: 'vfio-pci' });
  iommu.pciDevice('0000:03:00.1', { group: '7', driver: 'vfio-pci' });
  iommu.pciDevice('0000:04:00.0', { group: '8', driver: 'nvme' });
  iommu.pciDevice('0000:05:00.0', { group: '9', driver: 'vfio-pci' });
  iommu.pciDevice('0000:05:00.1', { group: '9', driver: 'snd_hda_intel' });
  iommu.pciDevice('0000:06:00.0');
  iommu.usbDevice(1, 5);
  bare.pciDevice('0000:00:03.0', { driver: 'virtio-pci' });
});

after(async () => {
  xs.close();
  await xsd.close();
  rmSync(dir, { recursive: true, force: true });
  iommu.remove();
  bare.remove();
});

test('a host without an IOMMU: every PCI path says so in one line, naming the device, with how to get one', async () => {
  const p = new Passthrough({ root: bare.root, xs });
  const noIommu = `the host has no IOMMU (${bare.root}/sys/kernel/iommu_groups is empty)`;
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('00:03.0')] }, web, []), {
    code: 'PCI_DEVICE', message: `Cannot pass PCI device 0000:00:03.0 through to domain 'web': ${noIommu}`, hint: IOMMU_HINT,
  });
  await assert.rejects(p.assignableAdd({ domain: 0, bus: 0, dev: 3, func: 0 }), {
    code: 'PCI_DEVICE', message: `Cannot make PCI device 0000:00:03.0 assignable: ${noIommu}`, hint: IOMMU_HINT,
  });
  const list = await p.assignableList([]);
  assert.deepEqual(list.devices, []);
  assert.deepEqual(list.warnings, [`No PCI device can be assignable: ${noIommu}; ${IOMMU_HINT}`]);
  assert.deepEqual((await p.assignableRemove('00:03.0', false, [])).warnings, ['Not bound to vfio-pci (the host has no IOMMU: no device can be)']);
  // A device that does not exist is libxl's lstat line, before the IOMMU.
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('0a:00.0')] }, web, []), {
    code: 'PCI_DEVICE', message: `Couldn't lstat ${bare.root}/sys/bus/pci/devices/0000:0a:00.0: No such file or directory`,
  });
});

test('with an IOMMU: an assignable device passes; one bound elsewhere, one in no group, a group not viable, one held by another domain do not', async () => {
  const p = new Passthrough({ root: iommu.root, xs });
  const config: DomainConfig = { pcidevs: [parsePciSpec('03:00.0@4')] };
  assert.deepEqual((await p.prepare(config, web, [])).pcidevs, config.pcidevs);
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('04:00.0')] }, web, []), {
    message: 'PCI device 0000:04:00.0 is not assignable: it is bound to nvme, not vfio-pci', hint: 'xl pci-assignable-add 0000:04:00.0 first, or add seize=1 to its spec',
  });
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('06:00.0')] }, web, []), { message: /^Cannot pass PCI device 0000:06:00.0 through to domain 'web': the device is in no IOMMU group/ });
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('05:00.0')] }, web, []), {
    message: "Cannot pass PCI device 0000:05:00.0 through to domain 'web': its IOMMU group 9 also holds 0000:05:00.1, bound to snd_hda_intel, and VFIO takes a group whole",
  });
  const db: DeviceHolder = { domid: 5, name: 'db', config: { pcidevs: [parsePciSpec('03:00.0')] } };
  await assert.rejects(p.prepare(config, web, [db]), { message: "PCI device 0000:03:00.0 is already assigned to domain 'db' (5)" });
  await assert.rejects(p.prepare({ pcidevs: [parsePciSpec('03:00.0'), parsePciSpec('03:00.0@5')] }, web, []), { message: "PCI device 0000:03:00.0 is given to domain 'web' twice" });
});

test('BB:DD.* is every function the host has, on the spec\'s v-slot, function 0 last; without a v-slot it is libxl\'s refusal', async () => {
  const p = new Passthrough({ root: iommu.root, xs });
  const fns = await p.preparePci(parsePciSpec('03:00.*@6'), web, []);
  assert.deepEqual(fns.map((f) => [f.func, f.vdevfn, f.vfunc_mask]), [[1, (6 << 3) | 1, 2], [0, 6 << 3, 1]]);
  await assert.rejects(p.preparePci(parsePciSpec('03:00.*'), web, []), { message: 'Must specify a v-slot for multi-function devices' });
  // Its functions share an IOMMU group: each must be assignable, which is what is said.
  await assert.rejects(p.preparePci(parsePciSpec('05:00.*@3'), web, []), { message: 'PCI device 0000:05:00.1 is not assignable: it is bound to snd_hda_intel, not vfio-pci' });
});

test('pci-assignable: a bound device gets its name (a warning says it was bound); the name stands for the device; remove -r gives it back its driver', async () => {
  const p = new Passthrough({ root: iommu.root, xs });
  const added = await p.assignableAdd({ domain: 0, bus: 3, dev: 0, func: 1, name: 'gpu-audio' });
  assert.deepEqual(added, { bdf: '0000:03:00.1', warnings: ['0000:03:00.1 already assigned to vfio-pci'] });
  assert.equal(await xs.tryRead('/libxl/pci/0000-03-00-1/name'), 'gpu-audio');
  assert.deepEqual((await p.assignableList([])).devices, [{ bdf: '0000:03:00.0' }, { bdf: '0000:03:00.1', name: 'gpu-audio' }, { bdf: '0000:05:00.0' }]);
  assert.deepEqual((await p.assignableList([{ domid: 5, name: 'db', config: { pcidevs: [parsePciSpec('03:00.0')] } }])).devices.map((d) => d.bdf), ['0000:03:00.1', '0000:05:00.0']);
  const [named] = await p.preparePci(parsePciSpec('name=gpu-audio'), web, []);
  assert.deepEqual([named?.bus, named?.dev, named?.func, named?.name], [3, 0, 1, 'gpu-audio']);
  await assert.rejects(p.preparePci(parsePciSpec('name=nope'), web, []), { message: "There is no assignable PCI device named 'nope'" });
  await assert.rejects(p.assignableAdd({ domain: 0, bus: 3, dev: 0, func: 1, name: 'a b' }), { message: 'Names may only include printable characters' });

  // The kernel keeping the device on its driver: the binding is undone, nothing kept.
  await assert.rejects(p.assignableAdd({ domain: 0, bus: 4, dev: 0, func: 0, name: 'disk' }), {
    code: 'PCI_DEVICE', message: "Couldn't bind PCI device 0000:04:00.0 to vfio-pci: the kernel bound it to nvme",
  });
  assert.equal(iommu.written('sys/bus/pci/drivers_probe'), '0000:04:00.0');
  assert.equal(iommu.written('sys/bus/pci/devices/0000:04:00.0/driver_override'), '\n');
  assert.equal(await xs.exists('/libxl/pci/0000-04-00-0'), false);

  await xs.write('/libxl/pci/0000-03-00-1/driver_path', '/sys/bus/pci/drivers/snd_hda_intel');
  await assert.rejects(p.assignableRemove('gpu-audio', true, [{ domid: 5, name: 'db', config: { pcidevs: [parsePciSpec('03:00.1')] } }]), {
    code: 'PCI_DEVICE', message: "PCI device 0000:03:00.1 is assigned to domain 'db' (5)",
  });
  const removed = await p.assignableRemove('gpu-audio', true, []);
  assert.deepEqual(removed, { bdf: '0000:03:00.1', warnings: [] });
  assert.equal(iommu.written('sys/bus/pci/drivers/vfio-pci/unbind'), '0000:03:00.1');
  assert.equal(iommu.written('sys/bus/pci/drivers/snd_hda_intel/bind'), '0000:03:00.1');
  assert.equal(await xs.exists('/libxl/pci/0000-03-00-1'), false, 'name and driver gone with it');
  await assert.rejects(p.assignableRemove('zz:zz', false, []), { code: 'SPEC_PCI', message: "pci-assignable-remove: malformed BDF 'zz:zz'", exitCode: 2 });
});

test('a host USB device must have its node, and no domain may have it already', () => {
  const p = new Passthrough({ root: iommu.root });
  p.checkUsb('hostbus=1,hostaddr=5', 1, 5, web, []);
  assert.throws(() => p.checkUsb('hostbus=1,hostaddr=6', 1, 6, web, []), {
    code: 'USB_DEVICE', message: `Cannot attach USB device hostbus=1,hostaddr=6 to domain 'web': the host has no such device (no ${iommu.root}/dev/bus/usb/001/006)`,
  });
  const db: DeviceHolder = { domid: 5, name: 'db', config: { usbdevs: [{ ctrl: 0, port: 1, u: { hostdev: { hostbus: 1, hostaddr: 5 } } }], b_info: { u: { hvm: { usbdevice_list: ['tablet', 'host:1.7'] } } } } };
  assert.deepEqual(usbHolders([db]).map((h) => [h.bus, h.addr]), [[1, 5], [1, 7]]);
  assert.throws(() => p.checkUsb('hostbus=1,hostaddr=5', 1, 5, web, usbHolders([db])), { message: "Cannot attach USB device hostbus=1,hostaddr=5 to domain 'web': domain 'db' (5) has it already" });
});
