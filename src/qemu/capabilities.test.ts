import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccelHelp, parseDeviceHelp, parseMachineHelp, parseVersion, resolveQemuBinary } from './capabilities.js';
import { isToolstackError } from '../common/index.js';

test('parseVersion reads numbers and keeps the line', () => {
  assert.deepEqual(parseVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n'), {
    version: { major: 7, minor: 2, micro: 22 },
    versionText: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)',
  });
  assert.throws(() => parseVersion('nonsense'), /Cannot read QEMU's version/);
});

test('parseAccelHelp', () => {
  assert.deepEqual(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n'), ['tcg', 'kvm']);
});

test('parseMachineHelp: aliases, default, plain', () => {
  const text = [
    'Supported machines are:',
    'microvm              microvm (i386)',
    'pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)',
    'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)',
    'q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)',
    'none                 empty machine',
  ].join('\n');
  assert.deepEqual(parseMachineHelp(text), [
    { name: 'microvm', description: 'microvm (i386)', isDefault: false },
    { name: 'pc', description: 'Standard PC (i440FX + PIIX, 1996)', isDefault: false, aliasOf: 'pc-i440fx-7.2' },
    { name: 'pc-i440fx-7.2', description: 'Standard PC (i440FX + PIIX, 1996)', isDefault: true },
    { name: 'q35', description: 'Standard PC (Q35 + ICH9, 2009)', isDefault: false, aliasOf: 'pc-q35-7.2' },
    { name: 'none', description: 'empty machine', isDefault: false },
  ]);
});

test('parseDeviceHelp: categories, bus, alias, desc', () => {
  const text = [
    'Controller/Bridge/Hub devices:',
    'name "pcie-root-port", bus PCI, desc "PCI Express Root Port"',
    '',
    'Network devices:',
    'name "e1000", bus PCI, alias "e1000-82540em", desc "Intel Gigabit Ethernet"',
    'name "rtl8139", bus PCI',
    '',
    'Misc devices:',
    'name "pvpanic", bus ISA',
    'name "virtio-balloon-pci", bus PCI, alias "virtio-balloon"',
  ].join('\n');
  assert.deepEqual(parseDeviceHelp(text), [
    { name: 'pcie-root-port', category: 'Controller/Bridge/Hub devices', bus: 'PCI', description: 'PCI Express Root Port' },
    { name: 'e1000', category: 'Network devices', bus: 'PCI', alias: 'e1000-82540em', description: 'Intel Gigabit Ethernet' },
    { name: 'rtl8139', category: 'Network devices', bus: 'PCI' },
    { name: 'pvpanic', category: 'Misc devices', bus: 'ISA' },
    { name: 'virtio-balloon-pci', category: 'Misc devices', bus: 'PCI', alias: 'virtio-balloon' },
  ]);
});

test('resolveQemuBinary: a missing binary is a QEMU error with a hint', () => {
  assert.throws(() => resolveQemuBinary('qemu-system-nonesuch', '/nonexistent'),
    (e: unknown) => isToolstackError(e, 'QEMU') && e.hint !== undefined && /was not found/.test(e.message));
  assert.equal(resolveQemuBinary('sh', '/nonexistent:/bin:/usr/bin').endsWith('sh'), true);
});
