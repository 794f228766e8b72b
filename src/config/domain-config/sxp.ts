/**
 * The legacy SXP rendering of a domain config (`printf_info_sexp`), which `xl -N create` and
 * `xl list -l` print instead of JSON when xl.conf says `output_format="sxp"`. A fixed subset of
 * fields, C `printf` style: an unset string prints `(null)`, a defbool `True`/`False`/`<default>`,
 * an unset MemKB `-1`. As in Xen 4.17's xl; PVH has no SXP form (xl fails, see `SxpUnsupported`).
 */
import { DISK_BACKENDS } from './domain-config.js';
import type { DomainConfig } from './domain-config.js';
import { MEMKB_DEFAULT } from './idl.js';

const str = (v: string | undefined): string => v ?? '(null)';
const defbool = (v: boolean | undefined): string => (v === undefined ? '<default>' : v ? 'True' : 'False');
/** A MemKB (uint64) printed with `%PRId64`. */
const memkb = (v: number | bigint | undefined): string => BigInt.asIntN(64, BigInt(v ?? MEMKB_DEFAULT)).toString();
/** A uint32 printed with `%d`. */
const u32AsInt = (v: number | bigint | undefined, dflt: number): string => BigInt.asIntN(32, BigInt(v ?? dflt)).toString();
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * The domain type SXP cannot show: xl has printed the SXP up to the image (`partial`, on stdout)
 * when it says `Unknown domain type 3` and exits 1.
 */
export class SxpUnsupported extends Error {
  override readonly name: string = 'SxpUnsupported';
  constructor(message: string, readonly partial: string) {
    super(message);
  }
}

/** `printf_info_sexp(domid, config)`: the SXP text, newline-terminated. */
export function domainConfigToSxp(config: DomainConfig, domid = -1): string {
  const c = config.c_info ?? {};
  const b = config.b_info ?? {};
  const hvm = b.u?.hvm ?? {};
  const out: string[] = [];
  const p = (depth: number, s: string): void => {
    out.push(`${'\t'.repeat(depth)}${s}\n`);
  };
  out.push(`(domain\n\t(domid ${domid})\n`);
  p(1, '(create_info)');
  p(1, `(hvm ${c.type === 'hvm' ? 1 : 0})`);
  p(1, `(hap ${defbool(c.hap)})`);
  p(1, `(oos ${defbool(c.oos)})`);
  p(1, `(ssidref ${u32AsInt(c.ssidref, 0)})`);
  p(1, `(name ${str(c.name)})`);
  p(1, '(uuid <unknown>)');
  if (c.pool_name !== undefined) p(1, `(cpupool ${c.pool_name})`);
  p(1, `(xsdata ${c.xsdata === undefined ? '(null)' : 'contains data'})`);
  p(1, `(platformdata ${c.platformdata === undefined ? '(null)' : 'contains data'})`);
  p(1, '(build_info)');
  p(1, `(max_vcpus ${Number(b.max_vcpus ?? 0)})`);
  p(1, `(max_grant_frames ${u32AsInt(b.max_grant_frames, 0xffffffff)})`);
  p(1, `(max_maptrack_frames ${u32AsInt(b.max_maptrack_frames, 0xffffffff)})`);
  p(1, `(tsc_mode ${b.tsc_mode ?? 'default'})`);
  p(1, `(max_memkb ${memkb(b.max_memkb)})`);
  p(1, `(target_memkb ${memkb(b.target_memkb)})`);
  p(1, `(nomigrate ${defbool(b.disable_migrate)})`);
  if (c.type === 'pv' && b.bootloader !== undefined) {
    p(1, `(bootloader ${b.bootloader})`);
    if (b.bootloader_args !== undefined) p(1, `(bootloader_args${b.bootloader_args.map((a) => ` ${a}`).join('')})`);
  }
  p(1, '(image');
  if (c.type === 'hvm') {
    p(2, '(hvm');
    // acpi is the deprecated u.hvm copy (xl never sets it); apic, timer_mode, nestedhvm are b_info's.
    const rows: Array<[string, string]> = [
      ['firmware', str(hvm.firmware)],
      ['video_memkb', memkb(b.video_memkb)],
      ['shadow_memkb', memkb(b.shadow_memkb)],
      ['pae', defbool(hvm.pae)],
      ['apic', defbool(b.apic)],
      ['acpi', defbool(hvm.acpi)],
      ['nx', defbool(hvm.nx)],
      ['viridian', defbool(hvm.viridian)],
      ['hpet', defbool(hvm.hpet)],
      ['vpt_align', defbool(hvm.vpt_align)],
      ['timer_mode', b.timer_mode ?? 'unknown'],
      ['nestedhvm', defbool(b.nested_hvm)],
      ['stdvga', hvm.vga?.kind === 'std' ? 'True' : 'False'],
      ['vnc', defbool(hvm.vnc?.enable)],
      ['vnclisten', str(hvm.vnc?.listen)],
      ['vncdisplay', String(Number(hvm.vnc?.display ?? 0))],
      ['vncunused', defbool(hvm.vnc?.findunused)],
      ['keymap', str(hvm.keymap)],
      ['sdl', defbool(hvm.sdl?.enable)],
      ['opengl', defbool(hvm.sdl?.opengl)],
      ['nographic', defbool(hvm.nographic)],
      ['spice', defbool(hvm.spice?.enable)],
      ['spiceport', String(Number(hvm.spice?.port ?? 0))],
      ['spicetls_port', String(Number(hvm.spice?.tls_port ?? 0))],
      ['spicehost', str(hvm.spice?.host)],
      ['spicedisable_ticketing', defbool(hvm.spice?.disable_ticketing)],
      ['spiceagent_mouse', defbool(hvm.spice?.agent_mouse)],
      ['device_model', b.device_model ?? 'default'],
      ['gfx_passthru', defbool(hvm.gfx_passthru)],
      ['serial', str(hvm.serial)],
      ['boot', str(hvm.boot)],
      ['usb', defbool(hvm.usb)],
      ['usbdevice', str(hvm.usbdevice)],
      ['vkb_device', defbool(hvm.vkb_device)],
    ];
    for (const [k, v] of rows) p(3, `(${k} ${v})`);
    p(2, ')');
  } else if (c.type === 'pv') {
    p(2, '(linux 0)');
    p(3, `(kernel ${str(b.kernel)})`);
    p(3, `(cmdline ${str(b.cmdline)})`);
    p(3, `(ramdisk ${str(b.ramdisk)})`);
    p(3, `(e820_host ${defbool(b.u?.pv?.e820_host)})`);
    p(2, ')');
  } else {
    throw new SxpUnsupported('Unknown domain type 3', out.join(''));
  }
  p(1, ')');
  for (const d of config.disks ?? []) {
    p(1, '(device');
    p(2, '(tap');
    p(3, `(backend_domid ${d.backend_domid ?? 0})`);
    p(3, `(frontend_domid ${domid})`);
    p(3, `(physpath ${str(d.pdev_path)})`);
    p(3, `(phystype ${DISK_BACKENDS.indexOf(d.backend ?? 'unknown')})`);
    p(3, `(virtpath ${str(d.vdev)})`);
    p(3, `(unpluggable ${d.removable ?? 0})`);
    p(3, `(readwrite ${d.readwrite ?? 0})`);
    p(3, `(is_cdrom ${d.is_cdrom ?? 0})`);
    p(2, ')');
    p(1, ')');
  }
  for (const n of config.nics ?? []) {
    p(1, '(device');
    p(2, '(vif');
    if (n.ifname !== undefined) p(3, `(vifname ${n.ifname})`);
    p(3, `(backend_domid ${n.backend_domid ?? 0})`);
    p(3, `(frontend_domid ${domid})`);
    p(3, `(devid ${n.devid ?? -1})`);
    p(3, `(mtu ${n.mtu ?? 0})`);
    p(3, `(model ${str(n.model)})`);
    p(3, `(mac ${(n.mac ?? '00:00:00:00:00:00').replaceAll(':', '')})`);
    p(2, ')');
    p(1, ')');
  }
  for (const d of config.pcidevs ?? []) {
    p(1, '(device');
    p(2, '(pci');
    p(3, `(pci dev ${hex(d.domain ?? 0, 4)}:${hex(d.bus ?? 0, 2)}:${hex(d.dev ?? 0, 2)}.${hex(d.func ?? 0, 1)}@${hex(d.vdevfn ?? 0, 2)})`);
    p(3, `(opts msitranslate ${d.msitranslate === true ? 1 : 0} power_mgmt ${d.power_mgmt === true ? 1 : 0})`);
    p(2, ')');
    p(1, ')');
  }
  for (const v of config.vfbs ?? []) {
    p(1, '(device');
    p(2, '(vfb');
    p(3, `(backend_domid ${v.backend_domid ?? 0})`);
    p(3, `(frontend_domid ${domid})`);
    p(3, `(devid ${v.devid ?? -1})`);
    p(3, `(vnc ${defbool(v.vnc?.enable)})`);
    p(3, `(vnclisten ${str(v.vnc?.listen)})`);
    p(3, `(vncdisplay ${v.vnc?.display ?? 0})`);
    p(3, `(vncunused ${defbool(v.vnc?.findunused)})`);
    p(3, `(keymap ${str(v.keymap)})`);
    p(3, `(sdl ${defbool(v.sdl?.enable)})`);
    p(3, `(opengl ${defbool(v.sdl?.opengl)})`);
    p(3, `(display ${str(v.sdl?.display)})`);
    p(3, `(xauthority ${str(v.sdl?.xauthority)})`);
    p(2, ')');
    p(1, ')');
  }
  out.push(')\n');
  return out.join('');
}
