/**
 * The machine itself: identity, accelerator, machine type, CPU model and features, vCPUs,
 * memory, firmware, how the guest boots, the RTC, SMBIOS, and the lifecycle actions.
 */
import { BugError } from '../../common/index.js';
import { domainMemory, domainVcpus } from '../../config/index.js';
import type { DomainConfig } from '../../config/index.js';
import { hasMachine } from '../capabilities.js';
import type { Guest } from './guest.js';
import { num } from './guest.js';
import type { Argv } from './options.js';
import { escapeOpt, hostLacks, invalid, opts, qmpMonitorArgs, unsupported } from './options.js';

/** QEMU's machine for every guest type (see the module comment of build.ts). */
export const MACHINE = 'pc';

/** `pc` (i440fx) takes at most this many vCPUs. */
const PC_MAX_CPUS = 255;

export function identity(a: Argv, g: Guest): void {
  a.push('-name', opts(`guest=${escapeOpt(g.name)}`, { 'debug-threads': true }));
  const uuid = g.config.c_info?.uuid;
  if (uuid !== undefined) a.push('-uuid', uuid);
  a.push('-no-user-config', '-nodefaults', '-msg', 'timestamp=on');
}

export function machine(a: Argv, g: Guest): void {
  const { caps, accel } = a.env;
  if (!hasMachine(caps, MACHINE)) {
    throw hostLacks('type', g.type, `QEMU's '${MACHINE}' machine, which ${caps.binary} lacks`, 'install qemu-system-x86');
  }
  if (!caps.accelerators.includes(accel)) {
    throw hostLacks('accel', accel, `the ${accel} accelerator, which ${caps.binary} lacks`, 'set accel="auto" in xl.conf');
  }
  a.push('-machine', opts(MACHINE, {
    acpi: g.b.acpi === false ? false : undefined,
    hpet: g.hvm.hpet === false ? false : undefined,
  }));
  a.push('-accel', accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm');
  a.push('-cpu', [accel === 'kvm' ? 'host' : 'qemu64', ...cpuFeatures(a, g)].join(','));
  if (g.hvm.acpi_s3 === false) a.push('-global', 'PIIX4_PM.disable_s3=1');
  if (g.hvm.acpi_s4 === false) a.push('-global', 'PIIX4_PM.disable_s4=1');
}

/** libxl's viridian enlightenment groups (bit = enum value) → Hyper-V CPU flags of QEMU. */
const VIRIDIAN: readonly (readonly string[])[] = [
  ['hv-relaxed', 'hv-vapic', 'hv-spinlocks=0x1fff'], // 0 base
  ['hv-frequencies'], // 1 freq
  ['hv-time'], // 2 time_ref_count
  ['hv-time'], // 3 reference_tsc
  ['hv-tlbflush'], // 4 hcall_remote_tlb_flush
  ['hv-vapic'], // 5 apic_assist
  ['hv-crash'], // 6 crash_ctl
  ['hv-vpindex', 'hv-synic'], // 7 synic
  ['hv-vpindex', 'hv-synic', 'hv-time', 'hv-stimer'], // 8 stimer
  ['hv-vpindex', 'hv-ipi'], // 9 hcall_ipi
  ['hv-tlbflush', 'hv-tlbflush-ext'], // 10 ex_processor_masks
  [], // 11 no_vp_limit
  [], // 12 cpu_hotplug
];
const VIRIDIAN_NAMES = ['base', 'freq', 'time_ref_count', 'reference_tsc', 'hcall_remote_tlb_flush', 'apic_assist', 'crash_ctl',
  'synic', 'stimer', 'hcall_ipi', 'ex_processor_masks', 'no_vp_limit', 'cpu_hotplug'];
/** `viridian=1` (and the `defaults` group): base freq time_ref_count apic_assist crash_ctl no_vp_limit cpu_hotplug. */
const VIRIDIAN_DEFAULTS = [0, 1, 2, 5, 6, 11, 12];

function cpuFeatures(a: Argv, g: Guest): string[] {
  if (g.type !== 'hvm') return [];
  const h = g.hvm;
  const out: string[] = [];
  if (h.pae === false) out.push('-pae');
  if (h.nx === false) out.push('-nx');
  // xl.cfg(5): apic is ignored when the guest has more than one vCPU.
  if (g.b.apic === false && domainVcpus(g.config).max === 1) out.push('-apic');
  if (g.b.nested_hvm === true && a.env.accel !== 'kvm') {
    throw hostLacks('nestedhvm', true, 'KVM: TCG does not emulate VMX', 'remove nestedhvm= (this host runs guests under TCG)');
  }
  const groups = new Set<number>(h.viridian === true ? VIRIDIAN_DEFAULTS : []);
  for (const i of h.viridian_enable ?? []) groups.add(i);
  for (const i of h.viridian_disable ?? []) groups.delete(i);
  const flags = new Set<string>();
  for (const i of [...groups].sort((x, y) => x - y)) {
    const f = VIRIDIAN[i] ?? [];
    if (f.includes('hv-vpindex') && a.env.accel !== 'kvm') {
      throw hostLacks('viridian', VIRIDIAN_NAMES[i] ?? String(i), 'KVM: QEMU offers Hyper-V VP indexes only under KVM', `remove "${VIRIDIAN_NAMES[i] ?? i}" from viridian=`);
    }
    for (const x of f) flags.add(x);
  }
  return [...out, ...flags];
}

/**
 * vCPUs and memory. QEMU gets `maxmem` of RAM and a balloon: Xen's `memory` < `maxmem` is a
 * guest started ballooned down, so the domain layer sets the balloon target to `memory` (QMP
 * `balloon`) before the guest runs. `deflate-on-oom` lets a guest short of memory take it back.
 */
export function resources(a: Argv, g: Guest): void {
  checkMachineLimits(g.config);
  const { online: cur, max } = domainVcpus(g.config);
  a.push('-smp', opts(`cpus=${cur}`, { maxcpus: max }));
  const { maxKiB, targetKiB } = domainMemory(g.config);
  const ramKiB = machineRamKiB(a, maxKiB);
  a.push('-m', `size=${ramKiB % 1024 === 0 ? `${ramKiB / 1024}M` : `${ramKiB}K`}`);
  a.device('virtio-balloon-pci', { id: 'balloon0', 'deflate-on-oom': true }, 'memory', Math.ceil(targetKiB / 1024));
}

/**
 * QEMU before 9.0 under TCG loses guest writes in a live migration: its dirty-page sync of a RAM
 * block whose size is a multiple of 64 pages clears the pages' dirty bits without making the
 * vCPUs trap their next writes to them (upstream's "physmem: Fix migration dirty bitmap coherency
 * with TCG memory access", in 9.0; Debian 12's 7.2 lacks it), so a page the guest went on writing
 * was not sent again and the guest ran on at the target with stale memory (seen here: a guest
 * program found its pages holding old values after every slow migration; guests crashed or hung).
 * A RAM block of another size takes QEMU's page-by-page sync, which makes them trap (for the
 * guest's RAM; smaller blocks, VGA memory, stay as they are). Such a machine has this much more
 * RAM than its config says.
 */
const TCG_DIRTY_SYNC_PAD_KIB = 8;

/**
 * The machine's RAM: the size its state was saved with when it has arrived by a restore or
 * migration (the config's maximum may be for its next boot; a stream saved without one is the
 * config's), else the config's maximum, padded where QEMU's migration would lose writes (above).
 */
function machineRamKiB(a: Argv, maxKiB: number): number {
  const { runtime, accel, caps } = a.env;
  if (runtime.layout !== undefined) return runtime.layout.ramKiB;
  // Whole MiB, as QEMU has always been given it here.
  const kib = Math.ceil(maxKiB / 1024) * 1024;
  const affected = accel === 'tcg' && caps.version.major < 9 && runtime.incoming === undefined;
  return affected ? kib + TCG_DIRTY_SYNC_PAD_KIB : kib;
}

/** A machine's RAM as its config gave it: without the padding `machineRamKiB` may have added (whole MiB and 8 KiB). */
export function configuredRamKiB(machineKiB: number): number {
  return machineKiB % 1024 === TCG_DIRTY_SYNC_PAD_KIB ? machineKiB - TCG_DIRTY_SYNC_PAD_KIB : machineKiB;
}

/**
 * Refuses (CFG_VALUE) a config with more vCPUs than the machine takes. dom0d checks it before it
 * stores or makes anything for a domain: a million vCPUs (xl's own limit) took 13 s of records and
 * 300 MB of dom0d's memory before QEMU's command line refused them.
 */
/** The vCPU limit of the machine every domain gets, for a config resolved by dom0d (see ResolveOptions). */
export const MACHINE_VCPU_LIMIT = { max: PC_MAX_CPUS, why: `the '${MACHINE}' machine takes at most ${PC_MAX_CPUS} vCPUs` } as const;

export function checkMachineLimits(config: DomainConfig): void {
  const { max } = domainVcpus(config);
  if (max > PC_MAX_CPUS) {
    throw unsupported(config.b_info?.max_vcpus === undefined ? 'vcpus' : 'maxvcpus', max, MACHINE_VCPU_LIMIT.why, `give at most ${PC_MAX_CPUS}`);
  }
}

/** HVM firmware: SeaBIOS (QEMU's own), OVMF, or an image given by path. */
export function firmware(a: Argv, g: Guest): void {
  if (g.type !== 'hvm') return;
  const h = g.hvm;
  if (h.bios === 'rombios') {
    throw unsupported('bios', 'rombios', 'qemu-xen does not support bios=rombios.', 'remove bios= (SeaBIOS is the default) or use bios="ovmf"');
  }
  if (h.bios === 'ovmf') {
    const fw = a.env.caps.firmware;
    if (fw.ovmfCode === undefined) {
      throw hostLacks('bios', 'ovmf', 'OVMF, and no OVMF image is installed', 'apt-get install ovmf, or remove bios="ovmf" to boot with SeaBIOS');
    }
    if (fw.ovmfVars === undefined) {
      a.push('-bios', fw.ovmfCode);
      return;
    }
    const vars = a.env.runtime.ovmfVars;
    if (vars === undefined) throw new BugError('argv: bios="ovmf" needs runtime.ovmfVars (see argvRequirements)');
    a.push('-drive', opts('if=pflash', { format: 'raw', unit: 0, readonly: true, file: fw.ovmfCode }));
    a.push('-drive', opts('if=pflash', { format: 'raw', unit: 1, file: vars }));
    return;
  }
  const image = h.system_firmware ?? h.firmware;
  if (image !== undefined) a.push('-bios', image);
}

const PVGRUB = /\/pvgrub(32|64)\.bin$/;

/**
 * Direct kernel boot (every PV and PVH guest; HVM when `kernel=` is given) and HVM's boot order.
 * A PV or PVH guest's console is hvc0: `console=hvc0` is added when the command line names none.
 * A PVH guest's kernel must be an ELF image with a PVH entry note (an uncompressed vmlinux):
 * QEMU then enters it there instead of through the bzImage real-mode path.
 */
export function boot(a: Argv, g: Guest): void {
  const { kernel, ramdisk } = g.b;
  let cmdline = g.b.cmdline;
  if (g.type !== 'hvm') {
    if (kernel === undefined) {
      const bl = g.b.bootloader;
      throw bl === undefined
        ? new BugError('argv: a PV/PVH config without kernel or bootloader (resolveDomainConfig rejects it)')
        : unsupported('bootloader', bl, 'dom0 boots PV and PVH guests from kernel= only', 'extract the kernel and initrd from the guest disk and give kernel=, ramdisk=, cmdline=');
    }
    if (PVGRUB.test(kernel)) {
      throw unsupported('firmware', kernel.replace(/^.*\/|\.bin$/g, ''), 'there is no PV GRUB on QEMU', 'give the guest kernel with kernel=, ramdisk=, cmdline=');
    }
    if (!/(^|\s)console=/.test(cmdline ?? '')) cmdline = cmdline === undefined || cmdline === '' ? 'console=hvc0' : `${cmdline} console=hvc0`;
  } else if (kernel === undefined && (ramdisk !== undefined || cmdline !== undefined)) {
    throw unsupported(ramdisk !== undefined ? 'ramdisk' : 'cmdline', ramdisk ?? cmdline ?? '', 'direct boot parameters specified but kernel missing', 'add kernel=, or remove ramdisk= and cmdline=');
  }
  if (kernel !== undefined) {
    a.push('-kernel', kernel);
    if (ramdisk !== undefined) a.push('-initrd', initrdArg(ramdisk));
    if (cmdline !== undefined) a.push('-append', cmdline);
  }
  if (g.type === 'hvm') {
    const order = g.hvm.boot ?? 'cda';
    if (!/^[acdn]+$/.test(order)) {
      throw unsupported('boot', order, 'boot devices are letters a (floppy), c (disk), d (CD-ROM), n (network)', 'e.g. boot="dc"');
    }
    a.push('-boot', `order=${order}`);
  }
}

/**
 * `-initrd` is one file for a Linux kernel but a comma-separated module list for a multiboot one,
 * and which the kernel is, the builder does not read: a comma can be neither escaped nor passed.
 */
function initrdArg(ramdisk: string): string {
  if (ramdisk.includes(',')) {
    throw invalid('ramdisk', ramdisk, "QEMU's -initrd splits its value at commas", 'give a path without "," (rename the file or link to it)');
  }
  return ramdisk;
}

/**
 * `localtime` and `rtc_timeoffset` (seconds, relative to dom0's UTC or local time). The field is
 * libxl's uint32, which Xen sets as a signed 32-bit offset: `rtc_timeoffset=-3600` (stored as
 * 4294963696) is an hour back, and no value is more than 68 years either way.
 */
export function rtc(a: Argv, g: Guest): void {
  const offset = (num(g.b.rtc_timeoffset) ?? 0) | 0;
  const local = g.b.localtime === true;
  if (offset === 0) {
    if (local) a.push('-rtc', 'base=localtime');
    return;
  }
  const clock = a.env.runtime.clock;
  if (clock === undefined) throw new BugError('argv: rtc_timeoffset needs runtime.clock (see argvRequirements)');
  const ms = clock.nowMs + (local ? clock.utcOffsetMinutes * 60_000 : 0) + offset * 1000;
  a.push('-rtc', `base=${new Date(ms).toISOString().slice(0, 19)}`);
}

/** libxl's SMBIOS keys → QEMU `-smbios type=N` fields (battery strings have no QEMU table). */
const SMBIOS: Readonly<Record<string, readonly [number, string]>> = {
  bios_vendor: [0, 'vendor'], bios_version: [0, 'version'],
  system_manufacturer: [1, 'manufacturer'], system_product_name: [1, 'product'], system_version: [1, 'version'], system_serial_number: [1, 'serial'],
  baseboard_manufacturer: [2, 'manufacturer'], baseboard_product_name: [2, 'product'], baseboard_version: [2, 'version'],
  baseboard_serial_number: [2, 'serial'], baseboard_asset_tag: [2, 'asset'], baseboard_location_in_chassis: [2, 'location'],
  enclosure_manufacturer: [3, 'manufacturer'], enclosure_serial_number: [3, 'serial'], enclosure_asset_tag: [3, 'asset'],
  oem: [11, 'value'],
};

/** SMBIOS strings and tables, ACPI tables, the VM generation id (HVM). */
export function tables(a: Argv, g: Guest): void {
  const h = g.hvm;
  const byType = new Map<number, Record<string, string>>();
  const oem: string[] = [];
  for (const { key, value } of h.smbios ?? []) {
    if (key === undefined || key === null || value === undefined) continue;
    const m = SMBIOS[key];
    if (m === undefined) throw unsupported('smbios', `${key}=${value}`, `QEMU has no SMBIOS field for ${key}`, `supported: ${Object.keys(SMBIOS).join(', ')}`);
    const [type, field] = m;
    if (type === 11) {
      oem.push(value);
      continue;
    }
    byType.set(type, { ...byType.get(type), [field]: value });
  }
  for (const [type, fields] of [...byType].sort(([x], [y]) => x - y)) a.push('-smbios', opts(`type=${type}`, fields));
  for (const value of oem) a.push('-smbios', opts('type=11', { value }));
  if (h.smbios_firmware !== undefined) a.push('-smbios', `file=${escapeOpt(h.smbios_firmware)}`);
  if (h.acpi_firmware !== undefined) {
    // QEMU reads `file=A:B` as two files to concatenate, so a colon cannot be part of one path.
    if (h.acpi_firmware.includes(':')) {
      throw invalid('acpi_firmware', h.acpi_firmware, "QEMU's -acpitable reads a ':' as a separator of files", 'give a path without ":" (rename the file or link to it)');
    }
    a.push('-acpitable', `file=${escapeOpt(h.acpi_firmware)}`);
  }
  const genid = h.ms_vm_genid ?? [];
  if (genid.some((byte) => byte !== 0)) {
    const x = genid.map((byte) => byte.toString(16).padStart(2, '0')).join('');
    a.device('vmgenid', { guid: `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}` }, 'ms_vm_genid', 'generate');
  }
}

/**
 * The lifecycle contract with the supervisor (dom0d), one QMP socket per domain:
 * - `-action reboot=shutdown,shutdown=pause,panic=pause`: a guest never resets itself and QEMU
 *   never exits on its own. Each guest event stops the guest and leaves QEMU for the supervisor,
 *   which applies on_poweroff / on_reboot / on_crash (destroy = QMP `quit`; preserve = leave it;
 *   coredump-* = `dump-guest-memory` first; restart = quit, then create again):
 *     poweroff: event SHUTDOWN {guest: true, reason: "guest-shutdown"}, run state `shutdown`;
 *     reboot:   event SHUTDOWN {guest: true, reason: "guest-reset"}, run state `shutdown`
 *               (QMP `system_reset` gives reason "host-qmp-system-reset" the same way);
 *     crash:    event GUEST_PANICKED {action: "pause"}, run state `guest-panicked`, reported by
 *               the `pvpanic` device (ISA, found through ACPI), or the QMP socket closing
 *               without a SHUTDOWN event (QEMU itself died).
 *   A supervisor re-adopting a domain reads the same from `query-status` (the SHUTDOWN reason is
 *   then lost: `shutdown` is handled as on_poweroff).
 * - QMP: `-chardev socket,id=qmp,...,server=on,wait=off` + `-mon chardev=qmp,mode=control`.
 * - `-pidfile`: QEMU writes its pid; the process layer detaches it (no `-daemonize`).
 */
export function lifecycle(a: Argv, g: Guest): void {
  const r = a.env.runtime;
  a.push(...qmpMonitorArgs(r.qmpSocket));
  a.push('-pidfile', r.pidFile);
  a.push('-action', 'reboot=shutdown,shutdown=pause,panic=pause');
  a.device('pvpanic', { id: 'pvpanic0' }, 'on_crash', (g.config.on_crash ?? 'destroy').replace('_', '-'));
}
