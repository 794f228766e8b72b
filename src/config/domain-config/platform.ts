/**
 * The options of `parse_config_data` that build HVM platform lists (viridian enlightenments,
 * SMBIOS strings, firmware) and host resources given to the guest (I/O ports, IRQs, I/O memory,
 * LLC colours, xenstore quotas).
 */
import { strtoul } from '../spec/c-parse.js';
import { cfgError } from './context.js';
import type { ResolveContext } from './context.js';
import { SMBIOS_TYPES } from './domain-info.js';
import { CfgReader } from './reader.js';

/** `viridian`: a boolean, or a list of enlightenment groups (`!group` disables one). */
export function viridian(ctx: ResolveContext): void {
  const hvm = ((ctx.config.b_info.u ??= {}).hvm ??= {});
  const l = ctx.r.list('viridian', true);
  if (l === undefined) {
    const b = ctx.r.bool('viridian', true);
    if (b !== undefined) hvm.viridian = b;
    return;
  }
  const groups = ['base', 'freq', 'time_ref_count', 'reference_tsc', 'hcall_remote_tlb_flush', 'apic_assist', 'crash_ctl', 'synic', 'stimer', 'hcall_ipi', 'ex_processor_masks', 'no_vp_limit', 'cpu_hotplug'];
  const enable = new Set<number>();
  const disable = new Set<number>();
  for (let g of CfgReader.items(l)) {
    if (g === 'all') {
      for (let i = 0; i < 64; i++) enable.add(i);
    } else if (g === 'defaults') hvm.viridian = true;
    else {
      let [s, r] = [enable, disable];
      if (g.startsWith('!')) {
        [s, r] = [disable, enable];
        g = g.slice(1);
      }
      const i = groups.findIndex((x) => x.toLowerCase() === g.toLowerCase());
      if (i < 0) throw cfgError(ctx, 'viridian', [`xl: unknown viridian enlightenment '${g}'`], { allowed: [...groups, 'defaults', 'all'], exitCode: 3 });
      s.add(i);
      r.delete(i);
    }
  }
  hvm.viridian_enable = [...enable].sort((a, b) => a - b);
  hvm.viridian_disable = [...disable].sort((a, b) => a - b);
}

export function smbios(ctx: ResolveContext): void {
  const list = ctx.r.listItems('smbios');
  if (list === undefined) return;
  const out: Array<{ key: (typeof SMBIOS_TYPES)[number]; value: string }> = [];
  for (const item of list) {
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    const v = eq < 0 ? '' : item.slice(eq + 1);
    const key = SMBIOS_TYPES.find((t) => t === k.toLowerCase());
    if (key === undefined) throw cfgError(ctx, 'smbios', [`xl: unknown smbios type '${k}'`], { allowed: SMBIOS_TYPES });
    if (v === '') throw cfgError(ctx, 'smbios', [`xl: empty value not allowed for smbios "${k}="`]);
    out.push({ key, value: v });
  }
  if (out.filter((e) => e.key === 'oem').length > 99) throw cfgError(ctx, 'smbios', ['xl: smbios limited to 99 oem strings']);
  ((ctx.config.b_info.u ??= {}).hvm ??= {}).smbios = out;
}

/** `firmware=`: HVM firmware by name or path; PV/PVH pvgrub. Then PV/PVH need a kernel. */
export function firmware(ctx: ResolveContext): void {
  const b = ctx.config.b_info;
  const buf = ctx.r.string('firmware');
  if (ctx.type === 'hvm') {
    if (buf === undefined) return;
    const hvm = ((b.u ??= {}).hvm ??= {});
    const named = (['rombios', 'seabios', 'ovmf'] as const).find((n) => n === buf.toLowerCase());
    if (named !== undefined) hvm.bios = named;
    else if ('uefi'.startsWith(buf)) hvm.bios = 'ovmf';
    else if (!'bios'.startsWith(buf)) hvm.firmware = buf;
    return;
  }
  if (buf !== undefined) {
    if (b.kernel !== undefined) throw cfgError(ctx, 'firmware', ['ERROR: both kernel and firmware specified'], { hint: 'keep one of kernel= and firmware=' });
    if (!'pvgrub32'.startsWith(buf) && !'pvgrub64'.startsWith(buf)) {
      throw cfgError(ctx, 'firmware', ['ERROR: only pvgrub{32|64} supported as firmware options'], { allowed: ['pvgrub32', 'pvgrub64'] });
    }
    b.kernel = `/usr/lib/xen/boot/${buf}.bin`;
  }
  if (b.bootloader === undefined && b.kernel === undefined) {
    throw cfgError(ctx, undefined, ['Neither kernel nor bootloader specified'], { hint: `a ${ctx.type.toUpperCase()} guest needs kernel="..." (or bootloader="pygrub")` });
  }
}

/**
 * `ioports=`: xl reads each item with strtoul(…, 16) (blanks, a sign and `0x` allowed); a `-`
 * range end must take the rest of the item. Junk after a single port is reported and then
 * ignored, and a range is not checked for order (its uint32 count wraps), as in xl.
 */
export function ioports(ctx: ResolveContext): void {
  const list = ctx.r.listItems('ioports');
  if (list === undefined) return;
  ctx.config.b_info.ioports = list.map((s) => {
    const invalid = `xl: Invalid argument parsing ioport: ${s}`;
    const bad = (): never => { throw cfgError(ctx, 'ioports', [invalid], { hint: 'hex ports: "2f8" or "2f8-2ff"' }); };
    const port = (r: { value: bigint }): number => {
      if (r.value >= 0xffffffffn) throw cfgError(ctx, 'ioports', [`xl: ioport ${r.value.toString(16)} too big`], { hint: 'ports are below ffffffff' });
      return Number(r.value);
    };
    const r1 = strtoul(s, 16);
    if (r1.end === 0) return bad();
    const start = port(r1);
    let end = start;
    const rest = s.slice(r1.end);
    if (rest.startsWith('-')) {
      const r2 = strtoul(rest.slice(1), 16);
      if (r2.end === 0 || r2.end !== rest.length - 1) return bad();
      end = port(r2);
    } else if (rest !== '') {
      ctx.r.warn(invalid);
    }
    return { first: start, number: (end - start + 1) >>> 0 };
  });
}

export function irqs(ctx: ResolveContext): void {
  const list = ctx.r.listItems('irqs');
  if (list === undefined) return;
  // xl: strtoul(s, 10) must take the whole item (sign and leading blanks allowed); >= UINT32_MAX
  // fails, printed in hex (`-1` is ULONG_MAX).
  ctx.config.b_info.irqs = list.map((s) => {
    const r = strtoul(s, 10);
    if (r.end === 0 || r.end !== s.length) throw cfgError(ctx, 'irqs', [`xl: Invalid argument parsing irq: ${s}`], { hint: 'decimal IRQ numbers' });
    if (r.value >= 0xffffffffn) throw cfgError(ctx, 'irqs', [`xl: irq ${r.value.toString(16)} too big`], { hint: 'IRQ numbers are below 4294967295' });
    return Number(r.value);
  });
}

export function iomem(ctx: ResolveContext): void {
  const list = ctx.r.listItems('iomem');
  if (list === undefined) return;
  ctx.config.b_info.iomem = list.map((s) => {
    const m = /^\s*(?:0[xX])?([0-9a-fA-F]+),\s*(?:0[xX])?([0-9a-fA-F]+)(?:@\s*(?:0[xX])?([0-9a-fA-F]+))?$/.exec(s);
    if (m === null) throw cfgError(ctx, 'iomem', [`xl: Invalid argument parsing iomem: ${s}`], { hint: 'hex "START,NUM[@GFN]"' });
    return {
      start: u64(m[1] as string),
      number: u64(m[2] as string),
      ...(m[3] === undefined ? {} : { gfn: u64(m[3]) }),
    };
  });
}

/** A hex uint64: a number when exact, else a bigint. */
/** More LLC colours than a cache has (Xen keeps 1 << CONFIG_LLC_COLORS_ORDER of them). */
const MAX_LLC_COLORS = 1024;

function u64(hex: string): number | bigint {
  const v = BigInt(`0x${hex}`);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * `llc_colors=["N", "A-B", ...]` (Arm cache colouring): the colours, ranges expanded in order;
 * at most MAX_LLC_COLORS of them (a range of four billion took dom0d's whole heap).
 */
export function llcColors(ctx: ResolveContext): void {
  const list = ctx.r.listItems('llc_colors');
  if (list === undefined) return;
  const colors: number[] = [];
  for (const item of list) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(item);
    const a = Number(m?.[1]);
    const b = m?.[2] === undefined ? a : Number(m[2]);
    if (m === null || b < a) throw cfgError(ctx, 'llc_colors', [`xl: Invalid LLC color range: ${item}`], { hint: 'colours look like "0", "4-7"' });
    if (colors.length + (b - a + 1) > MAX_LLC_COLORS) throw cfgError(ctx, 'llc_colors', [`xl: llc_colors has more than ${MAX_LLC_COLORS} colours (at ${item})`], { hint: `a last-level cache has at most ${MAX_LLC_COLORS} colours` });
    for (let c = a; c <= b; c++) colors.push(c);
  }
  ctx.config.b_info.llc_colors = colors;
}

export function xenstoreQuota(ctx: ResolveContext): void {
  const list = ctx.r.listItems('xenstore_quota');
  if (list === undefined) return;
  ctx.config.b_info.xenstore_quota = {
    quota: list.map((s) => {
      const m = /^([^=]+)=\s*((?:0[xX][0-9a-fA-F]+)|\d+)$/.exec(s);
      if (m === null) throw cfgError(ctx, 'xenstore_quota', [`xl: invalid xenstore quota "${s}"`], { hint: 'items look like "nodes=1000"' });
      return { name: m[1] as string, val: Number(m[2]) };
    }),
  };
}
