import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PciDevice } from '../../config/index.js';
import { pciWiring, usbctrlWiring, usbdevWiring } from './passthrough.js';

test('pciWiring(): vfio-pci on the host BDF with libxl\'s id, the v-slot as addr', () => {
  const p: PciDevice = { domain: 0, bus: 3, dev: 0, func: 1, vdevfn: 5 << 3 };
  assert.deepEqual(pciWiring(p, [p]), { driver: 'vfio-pci', id: 'pci-pt-03_00.1', host: '0000:03:00.1', addr: '05.0', multifunction: undefined });
  const q: PciDevice = { domain: 0x10, bus: 0xa, dev: 0x1f, func: 7 };
  assert.deepEqual(pciWiring(q, [q]), { driver: 'vfio-pci', id: 'pci-pt-0a_1f.7', host: '0010:0a:1f.7', addr: undefined, multifunction: undefined });
});

test('pciWiring(): the functions of one device on one v-slot; function 0 is multifunction=on', () => {
  const f = (func: number): PciDevice => ({ domain: 0, bus: 3, dev: 0, func, vfunc_mask: 1 << func, vdevfn: (7 << 3) | func });
  const all = [f(1), f(2), f(0)];
  assert.deepEqual(all.map((p) => [pciWiring(p, all).addr, pciWiring(p, all).multifunction]), [['07.1', undefined], ['07.2', undefined], ['07.0', true]]);
  assert.equal(pciWiring(f(0), [f(0)]).multifunction, undefined, 'alone on its slot');
});

test('pciWiring() refuses a spec the domain layer has not resolved (a name, every function)', () => {
  assert.throws(() => pciWiring({ name: 'gpu' }, []), { code: 'CFG_VALUE' });
  assert.throws(() => pciWiring({ bus: 3, dev: 0, vfunc_mask: 0xffffffff }, []), { code: 'CFG_VALUE' });
});

test('USB: libxl\'s controllers and ids; a host device on its controller\'s bus and port', () => {
  assert.deepEqual(usbctrlWiring({ devid: 0, type: 'devicemodel', version: 1, ports: 2 }), { driver: 'piix3-usb-uhci', id: 'xenusb-0' });
  assert.deepEqual(usbctrlWiring({ devid: 2, type: 'devicemodel', version: 2, ports: 6 }), { driver: 'usb-ehci', id: 'xenusb-2' });
  assert.deepEqual(usbctrlWiring({ devid: 1, type: 'devicemodel', version: 3, ports: 4 }), { driver: 'nec-usb-xhci', id: 'xenusb-1', p2: 4, p3: 4 });
  assert.throws(() => usbctrlWiring({ devid: 1, type: 'qusb', version: 2, ports: 8 }), { code: 'CFG_VALUE' });
  assert.deepEqual(usbdevWiring({ ctrl: 1, port: 3, u: { hostdev: { hostbus: 2, hostaddr: 10 } } }), {
    driver: 'usb-host', id: 'xenusb-2-10', bus: 'xenusb-1.0', port: '3', hostbus: 2, hostaddr: 10,
  });
});
