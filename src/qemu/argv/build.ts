/**
 * The QEMU command line of a domain: a pure function of (DomainConfig, capabilities, accelerator,
 * runtime). No I/O, clock or randomness, so the same input gives the same argv (golden-tested in
 * test/golden/argv/).
 *
 * Guest types, all on QEMU's `pc` machine with `-nodefaults` (every device is listed):
 * - pv: direct kernel boot (`kernel`, `ramdisk`, `cmdline` or `root`+`extra`), virtio devices
 *   for Xen's front-ends, console on hvc0 (virtconsole), no VGA unless a `vfb`.
 * - pvh: the same, entered at the kernel's PVH entry point (QEMU does so for an ELF kernel with
 *   the PVH note). `pc` rather than `microvm`: microvm cannot hotplug (block-attach,
 *   network-attach) and has no pvpanic; both boot the Debian kernel.
 * - hvm: SeaBIOS (or OVMF), `boot=` order, IDE/AHCI/virtio disks by vdev, emulated NICs,
 *   Cirrus/std VGA, serial ports, USB, sound; direct kernel boot when `kernel=` is given.
 * - every type: `pci=` passthrough (vfio-pci), `usbctrl=` controllers and `usbdev=` host USB
 *   devices (passthrough.ts).
 * Common to all: a virtio balloon (`memory` < `maxmem`, `xl mem-set`), pvpanic, the lifecycle
 * actions and the QMP socket (see `lifecycle` in platform.ts for the contract with dom0d).
 *
 * Not argv, on purpose: `cpus`/`cpus_soft` (pinned by the domain layer), scheduler parameters,
 * `pool`, `tsc_mode`, `timer_mode`, `vpt_align`, `hap`, `oos`, `shadow_memory`, grant and event
 * channel limits, xenstore settings, `xen_platform_pci`, `vendor_device`, `vkb_device`,
 * `hvm_pirq`, `acpi_laptop_slate`, vif `rate` (the network layer shapes the tap), `seclabel`.
 * `device_model_override` names the binary (`deviceModelBinary`); legacy `device_model=` is
 * ignored with xl's warning by the config layer.
 */
import type { DomainConfig } from '../../config/index.js';
import { displayEnvironment, display, hasVnc } from './display.js';
import { consoleRequirements, consoles, nics, rejectUnsupported, shares, sound, usb } from './devices.js';
import { guestOf } from './guest.js';
import { num } from './guest.js';
import { Argv } from './options.js';
import { passthrough } from './passthrough.js';
import { boot, firmware, identity, lifecycle, machine, resources, rtc, tables } from './platform.js';
import { disks } from './storage.js';
import type { ArgvCapabilities, ArgvEnv, ArgvRequirements, DomainRuntime } from './types.js';

/**
 * The arguments after the binary. Throws ToolstackError CFG_VALUE (a value with no QEMU
 * counterpart) or HOST_CAPABILITY (the host or its QEMU lacks what the value needs), naming
 * the xl.cfg key and value; BugError when the runtime misses what `argvRequirements` listed.
 */
export function buildQemuArgs(config: DomainConfig, env: ArgvEnv): string[] {
  const g = guestOf(config);
  rejectUnsupported(g);
  const a = new Argv(env);
  identity(a, g);
  machine(a, g);
  resources(a, g);
  firmware(a, g);
  lifecycle(a, g);
  display(a, g);
  rtc(a, g);
  boot(a, g);
  tables(a, g);
  consoles(a, g);
  disks(a, g, env.runtime.diskChains);
  nics(a, g);
  usb(a, g);
  passthrough(a, g);
  sound(a, g);
  shares(a, g);
  if (env.runtime.startPaused === true) a.push('-S');
  if (env.runtime.incoming !== undefined) a.push('-incoming', env.runtime.incoming);
  const b = g.b;
  // `device_model_args*`: QEMU arguments by design, appended as given.
  a.push(...(b.extra ?? []), ...((g.type === 'hvm' ? b.extra_hvm : b.extra_pv) ?? []));
  return a.args;
}

/** What `DomainRuntime` must carry for this config (console sockets, taps, OVMF vars, clock). */
export function argvRequirements(config: DomainConfig, caps: ArgvCapabilities): ArgvRequirements {
  const g = guestOf(config);
  return {
    consoles: consoleRequirements(g),
    nics: config.nics?.length ?? 0,
    ovmfVars: g.type === 'hvm' && g.hvm.bios === 'ovmf' && caps.firmware.ovmfCode !== undefined && caps.firmware.ovmfVars !== undefined,
    clock: (num(g.b.rtc_timeoffset) ?? 0) !== 0,
  };
}

/** Whether QEMU runs a VNC server for this config (`query-vnc` is worth asking). */
export function hasVncDisplay(config: DomainConfig): boolean {
  return hasVnc(guestOf(config));
}

/** Environment variables QEMU must run with for this config (DISPLAY, XAUTHORITY with SDL). */
export function qemuEnvironment(config: DomainConfig, runtime: DomainRuntime): Record<string, string> {
  return displayEnvironment(guestOf(config), runtime);
}

/** The QEMU binary for a config: `device_model_override`, else the probed one. */
export function deviceModelBinary(config: DomainConfig, caps: ArgvCapabilities): string {
  return config.b_info?.device_model ?? caps.binary;
}
