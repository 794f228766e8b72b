// The fake host of the argv goldens and unit tests: what a capability probe of Debian's QEMU 7.2
// finds, reduced to the devices the builder may use; no OVMF; an SDL display back-end.
import type { ArgvCapabilities, QemuDeviceType } from '../../../src/qemu/index.js';

const dev = (category: string, bus: string | undefined, ...names: string[]): QemuDeviceType[] =>
  names.map((name) => ({ name, category, ...(bus === undefined ? {} : { bus }) }));

export const FAKE_CAPS: ArgvCapabilities = {
  binary: '/usr/bin/qemu-system-x86_64',
  version: { major: 7, minor: 2, micro: 0 },
  versionText: 'QEMU emulator version 7.2.0 (fake)',
  accelerators: ['kvm', 'tcg'],
  machines: [
    { name: 'pc', description: 'Standard PC (i440FX + PIIX, 1996)', aliasOf: 'pc-i440fx-7.2', isDefault: false },
    { name: 'q35', description: 'Standard PC (Q35 + ICH9, 2009)', aliasOf: 'pc-q35-7.2', isDefault: false },
    { name: 'microvm', description: 'microvm (i386)', isDefault: false },
  ],
  devices: [
    ...dev('Controller/Bridge/Hub devices', 'PCI', 'piix3-usb-uhci', 'usb-ehci', 'qemu-xhci', 'nec-usb-xhci'),
    ...dev('USB devices', 'usb-bus', 'usb-tablet', 'usb-mouse', 'usb-kbd', 'usb-host'),
    ...dev('Storage devices', 'PCI', 'ich9-ahci', 'virtio-blk-pci', 'virtio-9p-pci'),
    ...dev('Storage devices', 'IDE', 'ide-hd', 'ide-cd'),
    ...dev('Network devices', 'PCI', 'e1000', 'e1000e', 'i82551', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio-net-pci', 'vmxnet3'),
    ...dev('Input devices', 'PCI', 'virtio-keyboard-pci', 'virtio-tablet-pci', 'virtio-mouse-pci'),
    ...dev('Input devices', 'virtio-serial-bus', 'virtconsole', 'virtserialport'),
    ...dev('Display devices', 'PCI', 'cirrus-vga', 'VGA', 'qxl-vga'),
    ...dev('Sound devices', 'PCI', 'AC97', 'ES1370', 'intel-hda'),
    ...dev('Sound devices', 'ISA', 'sb16'),
    ...dev('Sound devices', 'HDA', 'hda-duplex'),
    ...dev('Misc devices', 'ISA', 'pvpanic', 'isa-debugcon'),
    ...dev('Misc devices', 'PCI', 'virtio-balloon-pci', 'virtio-serial-pci', 'vfio-pci'),
    ...dev('Misc devices', undefined, 'vmgenid'),
  ].map((d) => (d.name === 'virtio-net-pci' ? { ...d, alias: 'virtio-net' } : d)),
  firmware: { seabios: '/usr/share/qemu/bios-256k.bin' },
  displays: ['none', 'curses', 'sdl'],
};

