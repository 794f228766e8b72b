import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeHostDevices } from '../../test/support/fake-host-devices.js';
import { HostPci } from './pci.js';

const fake = new FakeHostDevices();
after(() => fake.remove());
fake.pciDevice('0000:00:02.0', { group: '4', driver: 'e1000e' });
fake.pciDevice('0000:00:02.1', { group: '4' });
fake.pciDevice('0000:00:03.0', { group: '5', driver: 'vfio-pci' });
fake.pciDevice('0000:00:1f.0');
const pci = new HostPci(fake.root);

test('HostPci reads devices, IOMMU groups, drivers and functions from sysfs', () => {
  assert.equal(pci.missing('0000:00:02.0'), undefined);
  assert.equal(pci.missing('0000:0a:00.0'), 'No such file or directory');
  assert.equal(pci.hasIommu(), true);
  assert.equal(pci.iommuGroup('0000:00:02.0'), '4');
  assert.equal(pci.iommuGroup('0000:00:1f.0'), undefined);
  assert.deepEqual(pci.groupDevices('4'), ['0000:00:02.0', '0000:00:02.1']);
  assert.equal(pci.driver('0000:00:02.0'), 'e1000e');
  assert.equal(pci.driver('0000:00:02.1'), undefined);
  assert.deepEqual(pci.vfioDevices(), ['0000:00:03.0']);
  assert.deepEqual(pci.functions('0000:00:02'), [0, 1]);
  assert.equal(pci.hasDriver('vfio-pci'), true);
  assert.equal(pci.hasDriver('nvme'), false);
  assert.equal(new HostPci(`${fake.root}/nowhere`).hasIommu(), false);
});

test('bindVfio() writes driver_override, unbinds, probes; the kernel not binding it is one line', async () => {
  await assert.rejects(pci.bindVfio('0000:00:02.0'), {
    code: 'PCI_DEVICE', message: "Couldn't bind PCI device 0000:00:02.0 to vfio-pci: the kernel bound it to e1000e",
  });
  assert.equal(fake.written('sys/bus/pci/devices/0000:00:02.0/driver_override'), 'vfio-pci');
  assert.equal(fake.written('sys/bus/pci/drivers/e1000e/unbind'), '0000:00:02.0');
  assert.equal(fake.written('sys/bus/pci/drivers_probe'), '0000:00:02.0');
});

test('release() unbinds from vfio-pci and clears driver_override; bindTo() binds to a driver', async () => {
  await pci.release('0000:00:03.0');
  assert.equal(fake.written('sys/bus/pci/drivers/vfio-pci/unbind'), '0000:00:03.0');
  assert.equal(fake.written('sys/bus/pci/devices/0000:00:03.0/driver_override'), '\n');
  await pci.bindTo('0000:00:02.1', 'e1000e');
  assert.equal(fake.written('sys/bus/pci/drivers/e1000e/bind'), '0000:00:02.1');
  await assert.rejects(pci.bindTo('0000:00:02.1', 'nvme'), (e: Error & { code?: string }) => e.code === 'PCI_DEVICE' && /writing "0000:00:02.1" to .*nvme\/bind failed/.test(e.message));
});

test('groupUsers() names the processes that have the device\'s IOMMU group open (dev/vfio/<group> among proc/PID/fd)', () => {
  const root = fake.root;
  mkdirSync(join(root, 'proc', '4242', 'fd'), { recursive: true });
  mkdirSync(join(root, 'proc', '77', 'fd'), { recursive: true });
  symlinkSync(join(root, 'dev/vfio/5'), join(root, 'proc', '4242', 'fd', '9'));
  symlinkSync('/dev/null', join(root, 'proc', '77', 'fd', '0'));
  assert.deepEqual(pci.groupUsers('0000:00:03.0'), [4242]);
  assert.deepEqual(pci.groupUsers('0000:00:02.0'), []);
  assert.deepEqual(pci.groupUsers('0000:00:1f.0'), []);
});
