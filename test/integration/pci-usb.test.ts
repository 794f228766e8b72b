// PCI passthrough and USB on real QEMU (TCG), through `xl` and autostarted dom0ds.
//
// This host: its real sysfs and /dev, which have no IOMMU (and no USB devices). One HVM guest
// (the test kernel + initramfs booted directly, console COM1) is reused across the steps, in
// order: create refusals (a PCI device without an IOMMU, a USB device the host lacks, a
// controller libxl refuses), each one line leaving nothing; the guest booted with a usbctrl= EHCI
// controller beside usb=1's UHCI and its usbdevice= tablet (the guest sees both controllers on its
// PCI bus, QEMU has the tablet); usbctrl-attach of an xHCI controller the guest then sees,
// usb-list, usbctrl-detach (gone from the guest, usb-list and the config); usbdev-attach of a
// device the host lacks; every PCI command saying the host has no IOMMU, a missing device in
// libxl's words, malformed specs with xl's exit 2; destroy.
//
// A host with an IOMMU and USB devices, faked: a second dom0d whose sysfs and /dev are a tree the
// test made (DOM0_TEST_HOST_ROOT, test API only): the assignable-device bookkeeping (names,
// xenstore nodes, list, remove -r), and, with a second guest (its ACPI ejects what a failed
// attach added), QEMU itself refusing the fake devices (vfio-pci at create and at pci-attach,
// usb-host at usbdev-attach, on a controller it has or on the one libxl adds), which must leave
// no domain, no device and no config change behind.
// At the end every domain is destroyed, the dom0ds stopped, and any QEMU from this test killed by pid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeHostDevices } from '../support/fake-host-devices.js';
import { directBootConfig, ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, xlIn, xsExists, xsRead } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

const IOMMU_HINT = 'hint: VFIO passthrough needs an IOMMU: enable VT-d (Intel) or AMD-Vi (AMD) in the firmware and boot the host with intel_iommu=on or amd_iommu=on';
const NO_IOMMU = 'the host has no IOMMU (/sys/kernel/iommu_groups is empty)';

let host: TestHost;
let faked: TestHost;
let fake: FakeHostDevices;
let guests: GuestImages;
let con: GuestConsole | undefined;
/** A PCI device this host has (the first in sysfs). */
let realBdf: string;

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  fake = new FakeHostDevices();
  faked = makeHost();
  faked.env['DOM0_TEST_HOST_ROOT'] = fake.root;
  faked.env['XENSTORED_PATH'] = join(faked.runDir, 'xenstored', 'socket');
  realBdf = readdirSync('/sys/bus/pci/devices').sort()[0] as string;
  writeFileSync(join(host.root, 'pu.cfg'), [...directBootConfig(guests, 'pu', { hvm: true }), 'usb = 1', 'usbdevice = [ "tablet" ]', 'usbctrl = [ "version=2" ]'].join('\n'));
  writeFileSync(join(faked.root, 'fk.cfg'), directBootConfig(guests, 'fk', { hvm: true }).join('\n'));
});

after(async () => {
  con?.close();
  for (const h of [host, faked]) {
    for (const d of await listed(h).catch(() => [])) await xlIn(h, h.root, 'destroy', String(d.domid));
    const dir = join(h.runDir, 'domains');
    await destroyHost(h);
    for (const pid of qemuPids(dir)) process.kill(pid, 'SIGKILL');
  }
  fake.remove();
});

/** QEMUs running from a host's run directory (their argv names it). */
function qemuPids(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

async function listed(h: TestHost): Promise<Array<{ domid: number; name: string }>> {
  const r = await xlIn(h, h.root, 'list', '--json');
  return (JSON.parse(r.out) as Array<{ domid: number; name: string }>).filter((d) => d.domid !== 0);
}

async function ok(h: TestHost, ...args: string[]): Promise<Run> {
  const r = await xlIn(h, h.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl ARGS` that must exit `code` with nothing on stdout and exactly `lines` then a hint on stderr. */
async function fails(h: TestHost, args: readonly string[], lines: readonly string[], o: { readonly code?: number; readonly hint?: string } = {}): Promise<void> {
  const r = await xlIn(h, h.root, ...args);
  assert.equal(r.code, o.code ?? 1, `xl ${args.join(' ')}: ${r.err}`);
  assert.equal(r.out, '');
  const got = r.err.trimEnd().split('\n');
  assert.deepEqual(got.slice(0, -1), lines, r.err);
  assert.match(got[got.length - 1] as string, /^hint: /);
  if (o.hint !== undefined) assert.equal(got[got.length - 1], o.hint);
}

/** The stored config's list `key` (`xl list -l`). */
async function stored(h: TestHost, name: string, key: string): Promise<Array<Record<string, unknown>>> {
  const r = await ok(h, 'list', '-l', name);
  return (JSON.parse(r.out) as Array<{ config: Record<string, Array<Record<string, unknown>> | undefined> }>)[0]?.config[key] ?? [];
}

/** The guest's PCI class codes (`/sys/bus/pci/devices/* /class`), sorted. */
async function guestClasses(): Promise<string[]> {
  const out = (await (con as GuestConsole).run('cat /sys/bus/pci/devices/*/class', 30_000)).out;
  return out.split(/\s+/).filter((c) => /^0x[0-9a-f]{6}$/.test(c)).sort();
}

/** The guest's USB controllers (PCI class 0x0c03xx), once they are `want` (hot-plug takes the guest its time). */
async function usbControllersBecome(want: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let got = (await guestClasses()).filter((c) => c.startsWith('0x0c03'));
  while (got.join() !== want.join() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    got = (await guestClasses()).filter((c) => c.startsWith('0x0c03'));
  }
  assert.deepEqual(got, want);
}

test('create refuses a PCI device without an IOMMU, a USB device the host lacks, a controller libxl refuses: one line each, nothing left', async () => {
  // xl create exits with libxl's -rc: 3, ERROR_FAIL.
  await fails(host, ['create', '-q', 'pu.cfg', 'name="bad"', `pci=["${realBdf}"]`],
    [`Cannot pass PCI device ${realBdf} through to domain 'bad': ${NO_IOMMU}`], { hint: IOMMU_HINT, code: 3 });
  await fails(host, ['create', '-q', 'pu.cfg', 'name="bad"', 'usbdev=["hostbus=1,hostaddr=2"]'],
    ["Cannot attach USB device hostbus=1,hostaddr=2 to domain 'bad': the host has no such device (no /dev/bus/usb/001/002)"], { code: 3 });
  await fails(host, ['create', '-q', 'pu.cfg', 'name="bad"', 'usbctrl=["version=1,ports=4"]'], ['Number of ports for USB controller of version 1 is always 2'], { code: 3 });
  assert.deepEqual(await listed(host), []);
  assert.deepEqual(qemuPids(join(host.runDir, 'domains')), []);
});

let dom = 0;

test('a usbctrl= controller beside usb=1 and its tablet: the guest sees both controllers, QEMU has the tablet, usb-list shows it', async () => {
  await ok(host, 'create', '-q', 'pu.cfg');
  dom = (await listed(host)).find((d) => d.name === 'pu')?.domid as number;
  con = await GuestConsole.connect(xsRead(host, `/local/domain/${dom}/serial/0/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 90_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  // UHCI (usb=1, 0x0c0300) and EHCI (usbctrl version=2, 0x0c0320).
  await usbControllersBecome(['0x0c0300', '0x0c0320']);
  const usb = await ok(host, 'qemu-monitor-command', 'pu', 'info usb');
  assert.match(usb.out, /Product QEMU USB Tablet, ID: usbdev0/);
  const list = await ok(host, 'usb-list', 'pu');
  assert.equal(list.out, [
    'Devid  Type         BE  state usb-ver ports', '0      devicemodel  0   0     2       6    ',
    ...[1, 2, 3, 4, 5, 6].map((p) => `  Port ${p}:`), '',
  ].join('\n'));
  assert.deepEqual((await stored(host, 'pu', 'usbctrls')).map((c) => [c['devid'], c['type'], c['version'], c['ports']]), [[0, 'devicemodel', 2, 6]]);
});

test('usbctrl-attach: an xHCI controller the guest sees and usb-list lists; usbctrl-detach: gone from the guest, the list and the config', async () => {
  const r = await ok(host, 'usbctrl-attach', 'pu', 'version=3', 'ports=4');
  assert.deepEqual([r.out, r.err], ['', '']);
  await usbControllersBecome(['0x0c0300', '0x0c0320', '0x0c0330']);
  const list = (await ok(host, 'usb-list', 'pu')).out.split('\n');
  assert.deepEqual(list.slice(8), ['Devid  Type         BE  state usb-ver ports', '1      devicemodel  0   0     3       4    ', '  Port 1:', '  Port 2:', '  Port 3:', '  Port 4:', '']);
  assert.deepEqual((await stored(host, 'pu', 'usbctrls')).map((c) => [c['devid'], c['version'], c['ports']]), [[0, 2, 6], [1, 3, 4]]);
  await fails(host, ['usbctrl-attach', 'pu', 'version=2', 'ports=4'], ['Number of ports for USB controller of version 2 is always 6', 'libxl_device_usbctrl_add failed.']);
  await fails(host, ['usbctrl-attach', 'pu', 'type=qusb'], ["Unsupported usbctrl=\"type=qusb\": PV USB needs Xen's usbback or QEMU's Xen USB back-end, which do not exist here", 'libxl_device_usbctrl_add failed.']);
  await fails(host, ['usbctrl-attach', 'pu', 'speed=9'], ["Unknown string `speed=9' in usbctrl spec"]);

  await ok(host, 'usbctrl-detach', 'pu', '1');
  await usbControllersBecome(['0x0c0300', '0x0c0320']);
  assert.equal((await ok(host, 'usb-list', 'pu')).out.split('\n').length, 9);
  assert.deepEqual((await stored(host, 'pu', 'usbctrls')).map((c) => c['devid']), [0]);
  await fails(host, ['usbctrl-detach', 'pu', '7'], ['Unknown device 7.']);
});

test('usbdev-attach of a device the host lacks is one line naming it, and changes nothing; usbdev-detach of an empty port is xl\'s line', async () => {
  await fails(host, ['usbdev-attach', 'pu', 'hostbus=1', 'hostaddr=2'],
    ["Cannot attach USB device hostbus=1,hostaddr=2 to domain 'pu': the host has no such device (no /dev/bus/usb/001/002)", 'libxl_device_usbdev_add failed.']);
  await fails(host, ['usbdev-attach', 'pu', 'hostbus=1', 'hostaddr=2', 'port=2'], ['USB controller must be specified if you specify port', 'libxl_device_usbdev_add failed.']);
  await fails(host, ['usbdev-detach', 'pu', '0', '1'], ['Unknown device at controller 0 port 1.']);
  await fails(host, ['usbdev-detach', 'pu', '0', '1', '2'], ['Invalid arguments.']);
  assert.deepEqual(await stored(host, 'pu', 'usbdevs'), []);
  assert.deepEqual((await stored(host, 'pu', 'usbctrls')).map((c) => c['devid']), [0]);
});

test('this host has no IOMMU: pci-attach, pci-assignable-add and -list say so; a missing device is libxl\'s lstat line; malformed specs exit 2', async () => {
  await fails(host, ['pci-attach', 'pu', realBdf], [`Cannot pass PCI device ${realBdf} through to domain 'pu': ${NO_IOMMU}`], { hint: IOMMU_HINT });
  await fails(host, ['pci-attach', 'pu', `${realBdf.slice(5)}@4,seize=1`], [`Cannot pass PCI device ${realBdf} through to domain 'pu': ${NO_IOMMU}`], { hint: IOMMU_HINT });
  await fails(host, ['pci-assignable-add', realBdf], [`Cannot make PCI device ${realBdf} assignable: ${NO_IOMMU}`], { hint: IOMMU_HINT });
  const list = await ok(host, 'pci-assignable-list', '-n');
  assert.equal(list.out, '');
  assert.equal(list.err, `No PCI device can be assignable: ${NO_IOMMU}; ${IOMMU_HINT.slice(6)}\n`);
  await fails(host, ['pci-attach', 'pu', '0a:1f.3'], ["Couldn't lstat /sys/bus/pci/devices/0000:0a:1f.3: No such file or directory"]);
  await fails(host, ['pci-assignable-add', '0a:1f.3'], ["Couldn't lstat /sys/bus/pci/devices/0000:0a:1f.3: No such file or directory"]);
  await fails(host, ['pci-attach', 'pu', '03:00'], ['pci-attach: malformed PCI_SPEC_STRING "03:00"'], { code: 2 });
  await fails(host, ['pci-attach', 'pu', '03:00.0,colour=red'], ['Unknown PCI_SPEC_STRING option: colourpci-attach: malformed PCI_SPEC_STRING "03:00.0,colour=red"'], { code: 2 });
  await fails(host, ['pci-detach', 'pu', 'zz'], ['pci-detach: malformed PCI_SPEC_STRING "zz"'], { code: 2 });
  await fails(host, ['pci-assignable-add', '1:2:3'], ['pci-assignable-add: malformed BDF "1:2:3"'], { code: 2 });
  await fails(host, ['pci-assignable-remove', 'nosuch'], ["pci-assignable-remove: malformed BDF 'nosuch'"], { code: 2 });
  await fails(host, ['pci-detach', 'pu', '03:00.0'], ['PCI device not attached to this domain']);
  assert.equal((await ok(host, 'pci-list', 'pu')).out, '');
  assert.deepEqual(await stored(host, 'pu', 'pcidevs'), []);
});

test('destroy takes the domain, its controllers and QEMU', async () => {
  await ok(host, 'destroy', 'pu');
  assert.equal(xsExists(host, `/local/domain/${dom}`), false);
  assert.deepEqual(qemuPids(join(host.runDir, 'domains')), []);
});

test('a faked host with an IOMMU: assignable devices are named and listed; a bind the kernel refuses is undone', async () => {
  fake.pciDevice('0000:07:00.0', { group: '12', driver: 'vfio-pci' });
  fake.pciDevice('0000:08:00.0', { group: '13', driver: 'e1000e' });
  fake.usbDevice(1, 2);
  const added = await ok(faked, 'pci-assignable-add', '-n', 'nic', '07:00.0');
  assert.equal(added.err, '0000:07:00.0 already assigned to vfio-pci\n');
  assert.equal(xsRead(faked, '/libxl/pci/0000-07-00-0/name'), 'nic');
  assert.equal((await ok(faked, 'pci-assignable-list')).out, '0000:07:00.0 \n');
  assert.equal((await ok(faked, 'pci-assignable-list', '--show-names')).out, '0000:07:00.0 nic\n');
  // The kernel (the fake) keeps 08:00.0 on e1000e: one line, and the device as it was.
  await fails(faked, ['pci-assignable-add', '0000:08:00.0'], ["Couldn't bind PCI device 0000:08:00.0 to vfio-pci: the kernel bound it to e1000e"]);
  assert.equal(fake.written('sys/bus/pci/devices/0000:08:00.0/driver_override'), '\n');
  assert.equal(xsExists(faked, '/libxl/pci/0000-08-00-0'), false);
});

test('a faked host: QEMU refusing the fake devices (vfio-pci at create and at pci-attach, usb-host at usbdev-attach) leaves nothing behind', async () => {
  const created = await xlIn(faked, faked.root, 'create', '-q', 'fk.cfg', 'name="fk-pci"', 'pci=["name=nic"]');
  assert.equal(created.code, 3, created.err);
  assert.match(created.err, /^QEMU \(pid \d+\) of domain 'fk-pci' exited at start: .*vfio-pci,id=pci-pt-07_00\.0,host=0000:07:00\.0: vfio .*0000:07:00\.0: no such host device/);
  assert.deepEqual(await listed(faked), []);
  assert.deepEqual(qemuPids(join(faked.runDir, 'domains')), []);

  await ok(faked, 'create', '-q', 'fk.cfg');
  const fk = (await listed(faked)).find((d) => d.name === 'fk')?.domid as number;
  const fkConsole = await GuestConsole.connect(xsRead(faked, `/local/domain/${fk}/serial/0/tty`));
  try {
    await fkConsole.waitFor(GUEST_READY_LINE, { timeoutMs: 90_000 });
  } finally {
    fkConsole.close();
  }
  const r = await xlIn(faked, faked.root, 'pci-attach', 'fk', 'name=nic');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^Cannot add PCI device 0000:07:00\.0 to domain 'fk': vfio .*0000:07:00\.0: no such host device/);
  assert.equal((await ok(faked, 'pci-list', 'fk')).out, '');
  assert.deepEqual(await stored(faked, 'fk', 'pcidevs'), []);
  assert.equal((await ok(faked, 'pci-assignable-list')).out, '0000:07:00.0 \n', 'still assignable');

  // No controller: libxl's default one is added for the device, and goes again when QEMU refuses the device.
  const usbPci = async (): Promise<number> => ((await ok(faked, 'qemu-monitor-command', 'fk', 'info pci')).out.match(/USB controller/g) ?? []).length;
  const lone = await xlIn(faked, faked.root, 'usbdev-attach', 'fk', 'hostbus=1', 'hostaddr=2');
  assert.equal(lone.code, 1, lone.err);
  assert.match(lone.err, /^Cannot add USB device hostbus=1,hostaddr=2 to domain 'fk': failed to find host usb device 1:2\n/);
  assert.equal(await usbPci(), 0);
  assert.equal((await ok(faked, 'usb-list', 'fk')).out, '');
  assert.deepEqual([await stored(faked, 'fk', 'usbctrls'), await stored(faked, 'fk', 'usbdevs')], [[], []]);
  // On a controller the domain has: the controller stays, its port free.
  await ok(faked, 'usbctrl-attach', 'fk', 'version=1');
  const u = await xlIn(faked, faked.root, 'usbdev-attach', 'fk', 'hostbus=1', 'hostaddr=2', 'controller=0');
  assert.equal(u.code, 1, u.err);
  assert.match(u.err, /^Cannot add USB device hostbus=1,hostaddr=2 to domain 'fk': failed to find host usb device 1:2\nlibxl_device_usbdev_add failed\.\nhint: /);
  assert.deepEqual(await stored(faked, 'fk', 'usbdevs'), []);
  assert.equal(await usbPci(), 1);
  assert.match((await ok(faked, 'usb-list', 'fk')).out, /^ {2}Port 1:\n {2}Port 2:\n$/m);
  await ok(faked, 'destroy', 'fk');

  // Now free: remove -r unbinds it (its driver before vfio-pci is not on record).
  const removed = await ok(faked, 'pci-assignable-remove', '-r', 'nic');
  assert.equal(removed.err, "Couldn't find path for original driver; not rebinding\n");
  assert.equal(fake.written('sys/bus/pci/drivers/vfio-pci/unbind'), '0000:07:00.0');
  assert.equal(xsExists(faked, '/libxl/pci/0000-07-00-0'), false);
});
