import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeHostDevices } from '../../test/support/fake-host-devices.js';
import { HostUsb } from './usb.js';

const fake = new FakeHostDevices();
after(() => fake.remove());

test('HostUsb: a device is its /dev/bus/usb node; sysfs tells a hub (decimal bus and address, hex class)', () => {
  fake.usbDevice(1, 12);
  fake.usbDevice(2, 1);
  for (const [name, bus, dev, cls] of [['1-3', '1', '12', '00'], ['usb2', '2', '1', '09'], ['1-3:1.0', '1', '12', '09']] as const) {
    const dir = join(fake.root, 'sys/bus/usb/devices', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'busnum'), `${bus}\n`);
    writeFileSync(join(dir, 'devnum'), `${dev}\n`);
    writeFileSync(join(dir, 'bDeviceClass'), `${cls}\n`);
  }
  const usb = new HostUsb(fake.root);
  assert.equal(usb.devicePath(1, 12), join(fake.root, 'dev/bus/usb/001/012'));
  assert.deepEqual([usb.exists(1, 12), usb.exists(1, 13)], [true, false]);
  assert.deepEqual([usb.isHub(1, 12), usb.isHub(2, 1), usb.isHub(3, 3)], [false, true, false]);
});
