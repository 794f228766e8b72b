import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSections } from '../../../test/support/golden.js';
import { pciAssignableListCommand } from './pci-assignable-list.js';
import { pciListCommand } from './pci-list.js';
import { usbListCommand } from './usb-list.js';

test('pci-list, pci-assignable-list [-n] and usb-list render Xen\'s layouts byte for byte', () => {
  const g = goldenSections('cli/passthrough.txt');
  assert.equal(pciListCommand.render!([{ domain: 0, bus: 3, dev: 0, func: 0, vdevfn: 4 << 3 }, { domain: 1, bus: 0xa, dev: 0x1f, func: 7, vdevfn: (0x1f << 3) | 7 }]), g.get('pci-list'));
  assert.equal(pciListCommand.render!([]), '', 'no devices: xl prints nothing');
  const devices = [{ bdf: '0000:03:00.0', name: 'gpu' }, { bdf: '0000:03:00.1' }];
  assert.equal(pciAssignableListCommand.render!({ devices, warnings: [], showNames: false }), g.get('pci-assignable-list'));
  assert.equal(pciAssignableListCommand.render!({ devices, warnings: [], showNames: true }), g.get('pci-assignable-list -n'));
  assert.equal(usbListCommand.render!({
    usbctrls: [{ devid: 0, type: 'devicemodel', version: 2, ports: 2 }, { devid: 3, type: 'devicemodel', version: 3, ports: 3 }],
    usbdevs: [{ ctrl: 0, port: 1, u: { hostdev: { hostbus: 1, hostaddr: 5 } } }, { ctrl: 3, port: 3, u: { hostdev: { hostbus: 2, hostaddr: 10 } } }],
  }), g.get('usb-list'));
});
