import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usbctrlWithDefaults, usbdevPlacement, usbWithDefaults } from './usb.js';

test('usbctrlWithDefaults() gives libxl\'s version, ports and type; auto is a controller QEMU emulates', () => {
  assert.deepEqual(usbctrlWithDefaults({ devid: -1 }, 3), { devid: 3, type: 'devicemodel', version: 2, ports: 6 });
  assert.deepEqual(usbctrlWithDefaults({ version: 1, type: 'auto' }, 0), { devid: 0, type: 'devicemodel', version: 1, ports: 2 });
  assert.deepEqual(usbctrlWithDefaults({ version: 3 }, 0), { devid: 0, type: 'devicemodel', version: 3, ports: 8 });
  assert.deepEqual(usbctrlWithDefaults({ version: 3, ports: 15, devid: 4 }, 0), { devid: 4, type: 'devicemodel', version: 3, ports: 15 });
  assert.equal(usbctrlWithDefaults({ type: 'pv' }, 0).ports, 8, 'a PV controller keeps its type (refused where the machine is built)');
});

test('usbctrlWithDefaults() refuses in libxl\'s words what QEMU\'s controllers cannot be', () => {
  assert.throws(() => usbctrlWithDefaults({ version: 1, ports: 4 }, 0), { code: 'SPEC_USB', message: 'Number of ports for USB controller of version 1 is always 2' });
  assert.throws(() => usbctrlWithDefaults({ version: 2, ports: 8 }, 0), { code: 'SPEC_USB', message: 'Number of ports for USB controller of version 2 is always 6' });
  assert.throws(() => usbctrlWithDefaults({ version: 3, ports: 16 }, 0), { code: 'SPEC_USB', message: 'Number of ports for USB controller of version 3 is limited to 15' });
  assert.throws(() => usbctrlWithDefaults({ version: 4 }, 0), { code: 'SPEC_USB', message: 'Illegal USB version' });
});

test('usbWithDefaults() places each device on the first free port, and makes a controller when none is free', () => {
  const usb = usbWithDefaults({
    usbctrls: [{ version: 1 }, { version: 3, ports: 2, devid: 5 }],
    usbdevs: [
      { u: { hostdev: { hostbus: 1, hostaddr: 1 } } },
      { ctrl: 5, port: 2, u: { hostdev: { hostbus: 1, hostaddr: 2 } } },
      { ctrl: 5, u: { hostdev: { hostbus: 1, hostaddr: 3 } } },
      { u: { hostdev: { hostbus: 1, hostaddr: 4 } } },
      { u: { hostdev: { hostbus: 1, hostaddr: 5 } } },
    ],
  });
  assert.deepEqual(usb.usbctrls.map((c) => [c.devid, c.version, c.ports]), [[0, 1, 2], [5, 3, 2], [6, 2, 6]]);
  assert.deepEqual(usb.usbdevs.map((d) => [d.u?.hostdev?.hostaddr, d.ctrl, d.port, d.type]), [
    [1, 0, 1, 'hostdev'], [2, 5, 2, 'hostdev'], [3, 5, 1, 'hostdev'], [4, 0, 2, 'hostdev'], [5, 6, 1, 'hostdev'],
  ]);
  assert.deepEqual(usbWithDefaults({}), { usbctrls: [], usbdevs: [] });
});

test('usbdevPlacement() refuses a port without a controller, a taken or missing port, a full or missing controller', () => {
  const usb = usbWithDefaults({ usbctrls: [{ version: 1 }], usbdevs: [{ ctrl: 0, port: 1 }] });
  assert.throws(() => usbdevPlacement(usb, { port: 2 }), { message: 'USB controller must be specified if you specify port' });
  assert.throws(() => usbdevPlacement(usb, { ctrl: 0, port: 1 }), { message: "The controller port isn't available" });
  assert.throws(() => usbdevPlacement(usb, { ctrl: 0, port: 3 }), { message: "The controller port isn't available" });
  assert.throws(() => usbdevPlacement(usb, { ctrl: 7 }), { message: 'There is no USB controller 7' });
  const full = usbWithDefaults({ usbctrls: [{ version: 1 }], usbdevs: [{ ctrl: 0, port: 1 }, { ctrl: 0, port: 2 }] });
  assert.throws(() => usbdevPlacement(full, { ctrl: 0 }), { code: 'SPEC_USB', message: 'No available port under specified controller' });
  const placed = usbdevPlacement(full, {});
  assert.deepEqual([placed.usbdev.ctrl, placed.usbdev.port, placed.newController?.devid], [1, 1, 1]);
});
