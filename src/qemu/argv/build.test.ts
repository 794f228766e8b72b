import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BugError, isToolstackError } from '../../common/index.js';
import { parseDiskSpec } from '../../config/index.js';
import type { DomainConfig } from '../../config/index.js';
import { FAKE_CAPS } from '../../../test/golden/argv/fake-host.js';
import { argvRequirements, buildQemuArgs, deviceModelBinary, hasVncDisplay, qemuEnvironment } from './build.js';
import { escapeOpt, opts } from './options.js';
import { checkMachineLimits, configuredRamKiB } from './platform.js';
import { parseVdev } from './storage.js';
import type { ArgvEnv, DomainRuntime } from './types.js';

const RUNTIME: DomainRuntime = {
  domid: 3, qmpSocket: '/r/qmp.sock', pidFile: '/r/pid',
  consoles: { console0: { socket: '/r/c0.sock' }, serial0: { socket: '/r/s0.sock' }, debug0: { socket: '/r/d0.sock' } }, nics: [],
};
const env = (runtime: Partial<DomainRuntime> = {}, over: Partial<ArgvEnv> = {}): ArgvEnv => ({ caps: FAKE_CAPS, accel: 'tcg', runtime: { ...RUNTIME, ...runtime }, ...over });
const pv = (b: NonNullable<DomainConfig['b_info']> = {}, more: Partial<DomainConfig> = {}): DomainConfig => ({
  c_info: { type: 'pv', name: 'g' }, b_info: { type: 'pv', kernel: '/k', ...b }, ...more,
});
const hvm = (h: NonNullable<NonNullable<NonNullable<DomainConfig['b_info']>['u']>['hvm']> = {}, more: Partial<DomainConfig> = {}): DomainConfig => ({
  c_info: { type: 'hvm', name: 'h' }, b_info: { type: 'hvm', u: { hvm: { vnc: { enable: false }, ...h } } }, ...more,
});
/** The value after `flag` (the first occurrence). */
const after = (args: string[], flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isToolstackError(e)) return e.code;
    if (e instanceof BugError) return 'BUG';
    throw e;
  }
  return 'none';
};

test('hasVncDisplay says whether QEMU runs a VNC server, as the argv has one', () => {
  for (const [config, vnc] of [[pv(), false], [hvm(), false], [hvm({ vnc: {} }), true], [hvm({ vnc: {}, nographic: true }), false]] as const) {
    assert.equal(hasVncDisplay(config), vnc, JSON.stringify(config));
    assert.equal(buildQemuArgs(config, env()).includes('-vnc'), vnc, JSON.stringify(config));
  }
});

test('parseVdev numbers disks as Xen does', () => {
  assert.deepEqual(parseVdev('hda'), { prefix: 'hd', disk: 0, partition: 0 });
  assert.deepEqual(parseVdev('hdc'), { prefix: 'hd', disk: 2, partition: 0 });
  assert.deepEqual(parseVdev('sdb2'), { prefix: 'sd', disk: 1, partition: 2 });
  assert.deepEqual(parseVdev('xvdaa'), { prefix: 'xvd', disk: 26, partition: 0 });
  assert.equal(parseVdev('vda'), undefined);
  assert.equal(parseVdev('/dev/xvda'), undefined);
});

test('option strings double commas in values and drop undefined ones', () => {
  assert.equal(escapeOpt('a,b,,c'), 'a,,b,,,,c');
  assert.equal(opts('socket', { id: 'x', path: '/a,b', server: true, wait: false, logfile: undefined }), 'socket,id=x,path=/a,,b,server=on,wait=off');
});

test('pv: console=hvc0 is added unless the command line names a console', () => {
  assert.equal(after(buildQemuArgs(pv({ cmdline: 'root=/dev/vda' }), env()), '-append'), 'root=/dev/vda console=hvc0');
  assert.equal(after(buildQemuArgs(pv(), env()), '-append'), 'console=hvc0');
  assert.equal(after(buildQemuArgs(pv({ cmdline: 'console=ttyS0' }), env()), '-append'), 'console=ttyS0');
});

test('more vCPUs than the machine takes are refused by the argv and by the check dom0d makes first', () => {
  assert.equal(after(buildQemuArgs(pv({ max_vcpus: 255, avail_vcpus: [0, 1] }), env()), '-smp'), 'cpus=2,maxcpus=255');
  checkMachineLimits(pv({ max_vcpus: 255 }));
  for (const b of [{ max_vcpus: 256 }, { avail_vcpus: Array.from({ length: 256 }, (_, i) => i) }]) {
    assert.equal(codeOf(() => buildQemuArgs(pv(b), env())), 'CFG_VALUE');
    assert.throws(() => checkMachineLimits(pv(b)), /^ToolstackError: Unsupported (max)?vcpus=256: the 'pc' machine takes at most 255 vCPUs$/);
  }
});

test('the builder is pure: same input, same argv; the config is not changed', () => {
  const c = pv({ cmdline: 'quiet', max_memkb: 524288, target_memkb: 262144 }, { disks: [parseDiskSpec(['file:/a.img,xvda,w'])] });
  const copy = structuredClone(c);
  const e = env();
  assert.deepEqual(buildQemuArgs(c, e), buildQemuArgs(c, e));
  assert.deepEqual(c, copy);
});

test('runtime: -S, -incoming, then the device_model_args last', () => {
  const args = buildQemuArgs(pv({ extra: ['-x1'], extra_pv: ['-x2'], extra_hvm: ['-x3'] }), env({ startPaused: true, incoming: 'exec:cat /s' }));
  assert.deepEqual(args.slice(-5), ['-S', '-incoming', 'exec:cat /s', '-x1', '-x2']);
});

test('a machine layout kept (restore, migration): its RAM, its devices at their PCI addresses, others in slots it left free', () => {
  const nics = [{ devid: 0, mac: '00:16:3e:00:00:01' }];
  const config = hvm({ usb: true }, { nics, disks: [parseDiskSpec(['format=raw', 'vdev=xvde', 'target=/d.img'])] });
  const runtime = { nics: [{ tap: 'vif3.0' }] };
  const devices = (args: string[]): string[] => args.filter((x, i) => args[i - 1] === '-device');
  // Without one, QEMU places them (no addr=), and the RAM is the config's maximum.
  const fresh = buildQemuArgs({ ...config, b_info: { ...config.b_info, max_memkb: 262144 } }, env(runtime));
  assert.ok(devices(fresh).every((d) => !d.includes(',addr=')), devices(fresh).join(' '));
  // Under TCG, 8 KiB more: a QEMU before 9.0 loses the guest's writes in a migration of a RAM block of whole 256 KiB (platform.ts).
  assert.equal(after(fresh, '-m'), 'size=262152K');
  const sized = (over: Partial<ArgvEnv>, runtime: Partial<DomainRuntime> = {}): string | undefined =>
    after(buildQemuArgs({ ...config, b_info: { ...config.b_info, max_memkb: 262144 } }, env({ nics: [{ tap: 'vif3.0' }], ...runtime }, over)), '-m');
  assert.equal(sized({ accel: 'kvm' }), 'size=256M');
  assert.equal(sized({ caps: { ...FAKE_CAPS, version: { major: 9, minor: 0, micro: 0 } } }), 'size=256M');
  assert.equal(sized({}, { incoming: 'fd:0' }), 'size=256M', 'a stream saved without its RAM size has the config\'s');
  assert.equal(sized({}, { incoming: 'fd:0', layout: { ramKiB: 262152, pci: [] } }), 'size=262152K');
  assert.deepEqual([262152, 262144, 131080, 1000].map(configuredRamKiB), [262144, 262144, 131072, 1000]);
  // As it was where the disk and NIC were hot-plugged after the USB controller; the balloon unlisted.
  const layout = { ramKiB: 196608, pci: [{ id: 'usb', slot: 4, func: 0 }, { id: 'vif0', slot: 5, func: 0 }, { id: 'xvde', slot: 6, func: 0 }, { id: 'video0', slot: 3, func: 0 }] };
  const kept = buildQemuArgs({ ...config, b_info: { ...config.b_info, max_memkb: 262144 } }, env({ ...runtime, layout }));
  const addrOf = (id: string): string | undefined => /,addr=([^,]+)/.exec(devices(kept).find((d) => d.includes(`,id=${id},`) || d.endsWith(`,id=${id}`)) ?? '')?.[1];
  assert.deepEqual(['usb', 'vif0', 'xvde', 'video0', 'balloon0'].map(addrOf), ['04.0', '05.0', '06.0', '03.0', '02.0']);
  assert.ok(devices(kept).filter((d) => !/pci|vga|uhci|rtl8139|virtio-blk/.test(d)).every((d) => !d.includes(',addr=')), 'ISA and USB devices have no PCI address');
  assert.equal(after(kept, '-m'), 'size=192M');
});

test('a runtime without what argvRequirements lists is a bug, not a user error', () => {
  assert.equal(codeOf(() => buildQemuArgs(pv(), env({ consoles: {} }))), 'BUG');
  assert.equal(codeOf(() => buildQemuArgs(hvm({ serial: 'pty' }), env({ consoles: {} }))), 'BUG');
});

test('argvRequirements: consoles, nics, OVMF variable store, clock', () => {
  const c = hvm({ serial_list: ['pty', 'null', 'pty'], bios: 'ovmf' }, { channels: [{ devid: 4, name: 'n', connection: 'pty' }] });
  c.b_info = { ...c.b_info, rtc_timeoffset: 60 };
  const split = { ...FAKE_CAPS, firmware: { ovmfCode: '/c.fd', ovmfVars: '/v.fd' } };
  assert.deepEqual(argvRequirements(c, split), {
    consoles: [
      { id: 'serial0', kind: 'serial', index: 0 },
      { id: 'serial2', kind: 'serial', index: 2 },
      { id: 'channel4', kind: 'channel', index: 4, name: 'n' },
      { id: 'debug0', kind: 'debug', index: 0 },
    ],
    nics: 0, ovmfVars: true, clock: true,
  });
  assert.equal(argvRequirements(c, { ...FAKE_CAPS, firmware: { ovmfCode: '/OVMF.fd' } }).ovmfVars, false);
  assert.deepEqual(argvRequirements(pv(), FAKE_CAPS).consoles, [{ id: 'console0', kind: 'pv', index: 0 }, { id: 'debug0', kind: 'debug', index: 0 }]);
});

test('rtc_timeoffset is a signed 32-bit offset, as Xen sets it: -3600 (stored 4294963696) is an hour back', () => {
  const base = (offset: number): string | undefined => {
    const c = hvm();
    c.b_info = { ...c.b_info, rtc_timeoffset: offset };
    return after(buildQemuArgs(c, env({ clock: { nowMs: Date.UTC(2026, 0, 2, 3, 4, 5), utcOffsetMinutes: 0 } })), '-rtc');
  };
  assert.equal(base(2 ** 32 - 3600), 'base=2026-01-02T02:04:05');
  assert.equal(base(3600), 'base=2026-01-02T04:04:05');
  assert.equal(base(2 ** 32 - 1), 'base=2026-01-02T03:04:04');
  assert.equal(base(2 ** 31), 'base=1957-12-14T23:49:57');
});

test('OVMF as one combined image is given with -bios', () => {
  const args = buildQemuArgs(hvm({ bios: 'ovmf' }), env({}, { caps: { ...FAKE_CAPS, firmware: { ovmfCode: '/usr/share/ovmf/OVMF.fd' } } }));
  assert.equal(after(args, '-bios'), '/usr/share/ovmf/OVMF.fd');
});

test('VNC listen addresses: ADDR:DISPLAY, IPv6, a display fixed by the runtime', () => {
  const vnc = (listen: string): string | undefined => after(buildQemuArgs(hvm({ vnc: { listen } }), env()), '-vnc');
  assert.equal(vnc('10.0.0.1:5'), '10.0.0.1:5,to=99');
  assert.equal(vnc('vnc.example.org'), 'vnc.example.org:0,to=99');
  assert.equal(vnc('::1'), '[::1]:0,to=99');
  assert.equal(vnc('fe80::1:2'), '[fe80::1:2]:0,to=99');
  assert.equal(vnc('[::1]:3'), '[::1]:3,to=99');
  assert.equal(vnc('[::ffff:10.0.0.1]'), '[::ffff:10.0.0.1]:0,to=99');
  assert.equal(after(buildQemuArgs(hvm({ vnc: { display: 4 } }), env({ vncDisplay: 9 })), '-vnc'), '127.0.0.1:9');
  assert.equal(after(buildQemuArgs(hvm({ vnc: { enable: false }, nographic: true }), env()), '-vnc'), undefined);
});

test('vnclisten and keymap that are no address or keymap name are CFG_VALUE, never passed on', () => {
  for (const listen of ['[::1]:0,websocket=0.0.0.0', '127.0.0.1,share=ignore', 'websocket=on', 'unix:/tmp/v.sock', 'unix', 'unix:5', '10.0.0.1:x', '[::1]:', ':1', '', '-a', 'a b']) {
    assert.equal(codeOf(() => buildQemuArgs(hvm({ vnc: { listen } }), env())), 'CFG_VALUE', listen);
  }
  for (const keymap of ['../de', '/usr/share/qemu/keymaps/de', 'de,x=y', '.hidden', '']) {
    assert.equal(codeOf(() => buildQemuArgs(hvm({ keymap, vnc: { enable: true } }), env())), 'CFG_VALUE', keymap);
  }
  assert.equal(after(buildQemuArgs(hvm({ keymap: 'de-ch', vnc: { enable: true } }), env()), '-k'), 'de-ch');
});

test('values the API may carry with commas (no xl.cfg spec can) stay one value in their option', () => {
  const c = pv({}, {
    channels: [{ devid: 0, name: 'org.x,id=y', connection: 'socket', u: { socket: { path: '/s,server=off' } } }],
    p9s: [{ devid: 0, tag: 't,x=1', path: '/srv/share,readonly=on', security_model: 'none,writeout=immediate' }],
  });
  const args = buildQemuArgs(c, env());
  assert.ok(args.includes('socket,id=channel0,path=/s,,server=off,server=on,wait=off'), args.join(' '));
  assert.ok(args.includes('virtserialport,id=channel0,bus=vserial0.0,chardev=channel0,name=org.x,,id=y'), args.join(' '));
  assert.ok(args.includes('local,id=fsdev0,path=/srv/share,,readonly=on,security_model=none,,writeout=immediate'), args.join(' '));
  assert.ok(args.includes('virtio-9p-pci,id=p9-0,fsdev=fsdev0,mount_tag=t,,x=1'), args.join(' '));
});

test('SDL: environment from display= or dom0d\'s DISPLAY; QEMU without SDL is a host error', () => {
  const c = hvm({ sdl: { enable: true, xauthority: '/x' } });
  assert.deepEqual(qemuEnvironment(c, { ...RUNTIME, hostDisplay: ':0' }), { DISPLAY: ':0', XAUTHORITY: '/x' });
  assert.deepEqual(qemuEnvironment(hvm(), { ...RUNTIME, hostDisplay: ':0' }), {});
  assert.equal(after(buildQemuArgs(c, env({ hostDisplay: ':0' })), '-display'), 'sdl');
  assert.equal(codeOf(() => buildQemuArgs(c, env({ hostDisplay: ':0' }, { caps: { ...FAKE_CAPS, displays: ['none'] } }))), 'HOST_CAPABILITY');
});

test('host capabilities: a missing device or accelerator is HOST_CAPABILITY', () => {
  const noBlk = { ...FAKE_CAPS, devices: FAKE_CAPS.devices.filter((d) => d.name !== 'virtio-blk-pci') };
  assert.equal(codeOf(() => buildQemuArgs(pv({}, { disks: [parseDiskSpec(['file:/a.img,xvda,w'])] }), env({}, { caps: noBlk }))), 'HOST_CAPABILITY');
  assert.equal(codeOf(() => buildQemuArgs(pv(), env({}, { caps: { ...FAKE_CAPS, accelerators: ['tcg'] }, accel: 'kvm' }))), 'HOST_CAPABILITY');
});

test('disks: two vdevs on one IDE place, an empty PV CD-ROM, a partition on IDE are CFG_VALUE', () => {
  const disks = (...specs: string[]): Partial<DomainConfig> => ({ disks: specs.map((s) => parseDiskSpec([s])) });
  assert.equal(codeOf(() => buildQemuArgs(hvm({}, disks('file:/a,hda,w', 'file:/b,xvda,w')), env())), 'CFG_VALUE');
  assert.equal(codeOf(() => buildQemuArgs(pv({}, disks(',xvdc:cdrom,r')), env())), 'CFG_VALUE');
  assert.equal(codeOf(() => buildQemuArgs(hvm({}, disks('file:/a,hda1,w')), env())), 'CFG_VALUE');
  assert.equal(codeOf(() => buildQemuArgs(hvm({}, disks('file:/a,sdg,w')), env())), 'CFG_VALUE');
  assert.ok(buildQemuArgs(hvm({}, disks('file:/a,hda,w', 'file:/b,xvdb,w')), env()).includes('ide-hd,id=xvdb,bus=ide.0,unit=1,drive=drive-xvdb'));
});

test('vmgenid from the config\'s 16 bytes', () => {
  const args = buildQemuArgs(hvm({ ms_vm_genid: Array.from({ length: 16 }, (_, i) => i) }), env());
  assert.ok(args.includes('vmgenid,guid=00010203-0405-0607-0809-0a0b0c0d0e0f'), args.join(' '));
});

test('device_model_override names the binary', () => {
  assert.equal(deviceModelBinary(pv(), FAKE_CAPS), FAKE_CAPS.binary);
  assert.equal(deviceModelBinary(pv({ device_model: '/opt/qemu/bin/qemu-system-x86_64' }), FAKE_CAPS), '/opt/qemu/bin/qemu-system-x86_64');
});

test('a NUL in any value (possible through the API) is refused, not passed to spawn', () => {
  const config = { c_info: { name: 'n', type: 'pv' as const }, b_info: { kernel: '/k', cmdline: 'a\0b' } };
  assert.throws(() => buildQemuArgs(config, env()), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /NUL/.test(e.message));
});

test('names a user gave are looked up as table entries, never as what every object inherits', () => {
  // `usbdevice="toString"` passed the table lookup before and asked the host for the QEMU device
  // "function toString() { [native code] }" (HOST_CAPABILITY instead of the config's error).
  for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
    assert.equal(codeOf(() => buildQemuArgs(hvm({ usbdevice_list: [name] }), env())), 'CFG_VALUE', name);
    assert.equal(codeOf(() => buildQemuArgs(hvm({ soundhw: name }), env())), 'CFG_VALUE', name);
  }
});
