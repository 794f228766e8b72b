/**
 * The options of `parse_config_data` that build lists (devices, affinities, ranges) or combine
 * several keys. Spec strings with their own grammar are parsed by `../spec/`; what xl does
 * inline in `parse_config_data` (devids, defaults between keys, small strtok specs) is here.
 */
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { cfgValueList } from '../cfg/access.js';
import { parseChannelSpec } from '../spec/channel.js';
import { strtoul, UNTERMINATED } from '../spec/c-parse.js';
import { parseCpuList } from '../spec/cpulist.js';
import { parseDiskSpec } from '../spec/disk.js';
import { parseP9Spec } from '../spec/p9.js';
import { parsePciSpec, parseRdm } from '../spec/pci.js';
import { parseUsbctrlSpec, parseUsbdevSpec } from '../spec/usb.js';
import { parseVdisplSpec } from '../spec/vdispl.js';
import { parseVfbSpec } from '../spec/vfb.js';
import { parseVifSpec } from '../spec/vif.js';
import { parseVirtioSpec } from '../spec/virtio.js';
import { newVkb, parseVkbSpec } from '../spec/vkb.js';
import { parseVsndCard } from '../spec/vsnd.js';
import type { VsndDevice } from '../spec/vsnd.js';
import { parsePvcallsSpec, parseVtpmSpec } from '../spec/vtpm.js';
import { cfgError, checkVcpuCount } from './context.js';
import type { ResolveContext } from './context.js';
import { SMBIOS_TYPES } from './idl.js';
import { parseCpuidFlag, parseCpuidXend } from './cpuid.js';
import type { CpuidPolicy } from './cpuid.js';
import { CfgReader } from './reader.js';

type Cfg = ResolveContext['config'];
type Elem<K extends keyof Cfg> = NonNullable<Cfg[K]> extends Array<infer E> ? E : never;

/** The items of list `key` (xl's `xlu_cfg_get_list` + `get_listitem`), or undefined. */
function items(ctx: ResolveContext, key: string): string[] | undefined {
  const l = ctx.r.list(key);
  return l === undefined ? undefined : CfgReader.items(l);
}


/** xl's `parse_ulong`: decimal `strtoul`, exiting on no digits. */
function parseUlong(ctx: ResolveContext, key: string, s: string): number {
  const m = /^[ \t\n\v\f\r]*[+-]?\d+/.exec(s);
  if (m === null) throw cfgError(ctx, key, [`xl: failed to convert "${s}" to number`]);
  return Number(m[0]);
}

/** xl's `parse_range` (errors ignored, as `vnuma` ignores them): `N` or `N-M`. */
function looseRange(s: string): [number, number] {
  const m = /^[ \t]*[+-]?(\d*)(?:-[ \t]*[+-]?(\d*))?/.exec(s);
  const a = Number(m?.[1] === undefined || m[1] === '' ? 0 : m[1]);
  const b = m?.[2] === undefined ? a : Number(m[2] === '' ? 0 : m[2]);
  return [a, b];
}

/**
 * `vnuma=[[ "pnode=N", "size=MiB", "vcpus=0-1,3", "vdistances=10,20" ], ...]`: one virtual node
 * per inner list. Sets max_vcpus (checked against maxvcpus= or the host's CPUs) and max_memkb
 * (checked against maxmem=) from the nodes' totals.
 */
export function vnuma(ctx: ResolveContext): void {
  const l = ctx.r.list('vnuma', true);
  if (l === undefined || l.items.length === 0) return;
  const b = ctx.config.b_info;
  const n = l.items.length;
  const maxVcpus = Number(b.max_vcpus ?? 0);
  const bits = maxVcpus === 0 ? Math.ceil((ctx.options.hostCpus ?? 8) / 8) * 8 : Math.ceil(maxVcpus / 8) * 8;
  const nodes = Array.from({ length: n }, () => ({ memkb: undefined as number | undefined, distances: new Array<number>(n).fill(0), pnode: 0, vcpus: new Set<number>() }));
  let totalVcpus = 0;
  let totalMemkb = 0;
  l.items.forEach((spec, i) => {
    const node = nodes[i] as (typeof nodes)[number];
    const options = cfgValueList(ctx.r.doc, spec, { warnings: ctx.r.warnings });
    if (options === undefined) throw cfgError(ctx, 'vnuma', ['xl: cannot get vnode config option list'], { hint: 'vnuma is a list of lists of "key=value" strings' });
    for (const o of options.items) {
      if (o.kind !== 'atom') continue;
      const parts = o.value.split('=').filter((x) => x !== '');
      if (parts.length < 2) throw cfgError(ctx, 'vnuma', [`xl: failed to split "${o.value}" into pair`], { allowed: ['pnode', 'size', 'vcpus', 'vdistances'] });
      const key = (parts[0] as string).trim();
      const value = (parts[1] as string).trim();
      if (key === 'pnode') {
        const v = parseUlong(ctx, 'vnuma', value);
        if (v >= (ctx.options.hostNumaNodes ?? 1)) throw cfgError(ctx, 'vnuma', [`xl: invalid pnode number: ${v}`], { hint: `this host has ${ctx.options.hostNumaNodes ?? 1} NUMA node(s)` });
        node.pnode = v;
        b.numa_placement = false;
      } else if (key === 'size') {
        node.memkb = parseUlong(ctx, 'vnuma', value) * 1024;
        totalMemkb += node.memkb;
      } else if (key === 'vcpus') {
        for (const r of value.split(',').filter((x) => x !== '')) {
          const [s, e] = looseRange(r);
          for (let c = s; c <= Math.min(e, bits - 1); c++) node.vcpus.add(c);
          if (e >= s) totalVcpus += e - s + 1;
        }
      } else if (key === 'vdistances') {
        value.split(',').filter((x) => x !== '').forEach((d, j) => {
          const v = parseUlong(ctx, 'vnuma', d);
          if (j < n) node.distances[j] = v;
        });
      }
    }
  });
  if (maxVcpus !== 0) {
    if (maxVcpus !== totalVcpus) throw cfgError(ctx, 'vnuma', ['xl: vnuma vcpus and maxvcpus= mismatch'], { hint: `the vnuma nodes have ${totalVcpus} vcpus` });
  } else {
    if ((ctx.options.hostCpus ?? 8) < totalVcpus) {
      throw cfgError(ctx, 'vnuma', ['xl: vnuma specifies more vcpus than pcpus, use maxvcpus= to override this check.']);
    }
    b.max_vcpus = totalVcpus;
  }
  if (b.max_memkb !== undefined && BigInt(b.max_memkb) !== BigInt(totalMemkb)) {
    throw cfgError(ctx, 'vnuma', ['xl: maxmem and vnuma memory size mismatch'], { hint: `the vnuma nodes have ${totalMemkb / 1024} MiB` });
  }
  b.max_memkb = totalMemkb;
  b.vnuma_nodes = nodes.map((x) => ({
    ...(x.memkb === undefined ? {} : { memkb: x.memkb }),
    distances: x.distances,
    pnode: x.pnode,
    vcpus: [...x.vcpus].sort((p, q) => p - q),
  }));
}

/** A cpulist (`parse_cpurange`), sized for this host. */
export function parseCpuRange(ctx: ResolveContext, spec: string): number[] {
  return parseCpuList(spec, ctx.options.hostCpus ?? 8);
}

/** `cpus=` / `cpus_soft=`: one cpulist for every vCPU, or a list of them, one per vCPU. */
export function vcpuAffinity(ctx: ResolveContext, key: 'cpus' | 'cpus_soft', hard: boolean): void {
  const b = ctx.config.b_info;
  const maxVcpus = Number(b.max_vcpus ?? 0);
  const l = ctx.r.list(key, true);
  let maps: number[][];
  if (l !== undefined) {
    maps = CfgReader.items(l).slice(0, maxVcpus).map((s) => parseCpuRange(ctx, s));
    b.numa_placement = false;
  } else {
    const s = ctx.r.string(key);
    if (s === undefined) return;
    const map = parseCpuRange(ctx, s);
    checkVcpuCount(ctx, 'maxvcpus', maxVcpus);
    maps = Array.from({ length: maxVcpus }, () => [...map]);
    if (!hard) b.numa_placement = false;
  }
  if (hard) b.vcpu_hard_affinity = maps;
  else b.vcpu_soft_affinity = maps;
}

/**
 * `rdm="strategy=host,policy=strict|relaxed"`; a spec libxlutil rejects is ignored. libxlutil
 * (Xen 4.15 on) also rejects every *valid* `policy=` (its check of `parse_rdm_policy` is
 * inverted), so only `strategy=host` alone takes effect.
 */
export function rdm(ctx: ResolveContext): void {
  const s = ctx.r.string('rdm');
  if (s === undefined) return;
  let r;
  try {
    r = parseRdm(s);
  } catch (e) {
    if (!isToolstackError(e, 'SPEC_PCI')) throw e;
    // libxlutil's complaint (if it made one) has no newline: it runs on into xl's next output.
    const line = e.lines?.[0];
    if (line?.startsWith('Unknown RDM ') === true) ctx.r.warn(line + UNTERMINATED);
    return;
  }
  if (r.policy !== 'invalid') return;
  // xl copies the whole reserve from an uninitialised local, so the policy `strategy=host` leaves
  // is stack garbage: no enum value, which libxl writes as JSON null.
  ctx.rdmPolicyGarbage = true;
  if (ctx.type === 'hvm') ((ctx.config.b_info.u ??= {}).hvm ??= {}).rdm = { strategy: r.strategy, policy: null as unknown as 'invalid' };
}

/** `pci=[...]`, each with the pci_* and rdm policy defaults; any pci on PV sets e820_host. */
export function pci(ctx: ResolveContext): void {
  const list = items(ctx, 'pci');
  if (list === undefined) return;
  // xl copies b_info.u.hvm.rdm.policy: unset on HVM; on PV/PVH that union memory reads as 0,
  // strict; after rdm="strategy=host", garbage (null in the JSON).
  const rdmPolicy = ctx.rdmPolicyGarbage === true ? null : ctx.type === 'hvm' ? 'invalid' : 'strict';
  ctx.config.pcidevs = list.map((spec) => {
    try {
      return parsePciSpec(spec, { ...ctx.pciDefaults, rdm_policy: rdmPolicy });
    } catch (e) {
      if (!isToolstackError(e, 'SPEC_PCI')) throw e;
      // xl's own last line names the purpose; it exits with libxlutil's -rc (ERROR_INVAL, 6, unless
      // libxl's enum parser failed: ERROR_FAIL, 3).
      throw new ToolstackError(e.code, e.message, {
        lines: (e.lines ?? []).map((l) => l.replace(/unable to parse PCI_SPEC_STRING `.*'$/s, `unable to parse PCI_SPEC_STRING \`${spec}' for passthrough`)),
        exitCode: e.exitCode === 3 ? 3 : 6,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
  });
  if (list.length > 0 && ctx.type === 'pv') ((ctx.config.b_info.u ??= {}).pv ??= {}).e820_host = true;
}

export function dtdev(ctx: ResolveContext): void {
  const list = items(ctx, 'dtdev');
  if (list !== undefined) ctx.config.dtdevs = list.map((path) => ({ path }));
}

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
  const list = items(ctx, 'smbios');
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
  const list = items(ctx, 'ioports');
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
  const list = items(ctx, 'irqs');
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
  const list = items(ctx, 'iomem');
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
function u64(hex: string): number | bigint {
  const v = BigInt(`0x${hex}`);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** `llc_colors=["N", "A-B", ...]` (Arm cache colouring): the colours, ranges expanded in order. */
export function llcColors(ctx: ResolveContext): void {
  const list = items(ctx, 'llc_colors');
  if (list === undefined) return;
  const colors: number[] = [];
  for (const item of list) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(item);
    const a = Number(m?.[1]);
    const b = m?.[2] === undefined ? a : Number(m[2]);
    if (m === null || b < a) throw cfgError(ctx, 'llc_colors', [`xl: Invalid LLC color range: ${item}`], { hint: 'colours look like "0", "4-7"' });
    for (let c = a; c <= b; c++) colors.push(c);
  }
  ctx.config.b_info.llc_colors = colors;
}

export function disks(ctx: ResolveContext): void {
  const list = items(ctx, 'disk');
  if (list === undefined) return;
  ctx.config.disks = list.map((spec) => parseDiskSpec([spec], { source: ctx.r.doc.source }));
}

/** `p9=[...]` (xl re-initialises each entry, so its devid stays unset). */
export function p9s(ctx: ResolveContext): void {
  const list = items(ctx, 'p9');
  if (list !== undefined) ctx.config.p9s = list.map((spec) => parseP9Spec(spec, { domainName: ctx.config.c_info.name ?? '' }));
}

export function vtpms(ctx: ResolveContext): void {
  const list = items(ctx, 'vtpm');
  if (list !== undefined) ctx.config.vtpms = list.map((spec, devid) => parseVtpmSpec(spec, devid));
}

export function vdispls(ctx: ResolveContext): void {
  const list = items(ctx, 'vdispl');
  if (list === undefined) return;
  ctx.config.vdispls = list.map((spec, devid) => {
    const r = parseVdisplSpec(spec, devid);
    for (const w of r.warnings) ctx.r.warn(w);
    return r.vdispl;
  });
}

export function pvcalls(ctx: ResolveContext): void {
  const list = items(ctx, 'pvcalls');
  if (list !== undefined) ctx.config.pvcallsifs = list.map((spec, devid) => parsePvcallsSpec(spec, devid));
}

/** `vsnd=[[...], ...]`: a list of cards, each a list of item strings. */
export function vsnds(ctx: ResolveContext): void {
  const l = ctx.r.list('vsnd');
  if (l === undefined) return;
  const cards: VsndDevice[] = [];
  for (const card of l.items) {
    const items = cfgValueList(ctx.r.doc, card, { warnings: ctx.r.warnings });
    if (items === undefined) throw cfgError(ctx, 'vsnd', ['Failed to get vsnd card list: Invalid argument'], { hint: 'vsnd is a list of lists: vsnd = [["card, ...", "pcm, ..."]]' });
    cards.push(parseVsndCard(CfgReader.items(items), cards.length));
  }
  ctx.config.vsnds = cards;
}

export function channels(ctx: ResolveContext): void {
  const list = items(ctx, 'channel');
  if (list === undefined) return;
  ctx.config.channels = list.map((spec, devid) => {
    const r = parseChannelSpec(spec, devid);
    for (const w of r.warnings) ctx.r.warn(w);
    return r.channel;
  });
}

export function nics(ctx: ResolveContext): void {
  const list = items(ctx, 'vif');
  if (list === undefined) return;
  const x = ctx.xl;
  const defaults = {
    ...(x.vifDefaultScript === undefined ? {} : { script: x.vifDefaultScript }),
    ...(x.vifDefaultBridge === undefined ? {} : { bridge: x.vifDefaultBridge }),
    ...(x.vifDefaultGatewaydev === undefined ? {} : { gatewaydev: x.vifDefaultGatewaydev }),
    ...(x.vifDefaultBackend === undefined ? {} : { backend: x.vifDefaultBackend }),
  };
  ctx.config.nics = list.map((spec, devid) => {
    const r = parseVifSpec(spec, { defaults, source: ctx.r.doc.source, devid });
    for (const w of r.warnings) ctx.r.warn(w);
    return r.nic;
  });
}


/** `vfb=[...]`: each vfb also gets a vkb (same devid). */
export function vfbs(ctx: ResolveContext): void {
  const list = items(ctx, 'vfb');
  if (list === undefined) return;
  ctx.config.vfbs = list.map((spec, devid) => parseVfbSpec(spec, devid));
  ctx.config.vkbs = list.map((_, devid) => newVkb(devid));
}

export function usbctrls(ctx: ResolveContext): void {
  const list = items(ctx, 'usbctrl');
  if (list !== undefined) ctx.config.usbctrls = list.map((spec, devid) => parseUsbctrlSpec(spec, devid));
}

export function usbdevs(ctx: ResolveContext): void {
  const list = items(ctx, 'usbdev');
  if (list !== undefined) ctx.config.usbdevs = list.map((spec) => parseUsbdevSpec(spec));
}

const XEND_ERRORS = ['', 'illegal leaf number', 'illegal subleaf number', 'missing colon', 'invalid register name (must be e[abcd]x)', 'policy string must be exactly 32 characters long'];
const FLAG_ERRORS = ['', 'missing "=" in key=value', 'unknown CPUID flag name', 'illegal CPUID value (must be: [0|1|x|k|s])'];

/** `cpuid=`: a list of xend-style lines, or `"host,flag=value,..."`; bad items are reported and skipped. */
export function cpuid(ctx: ResolveContext): void {
  const p: CpuidPolicy = { cpuid: [], msr: [] };
  const l = ctx.r.list('cpuid', true);
  if (l !== undefined) {
    for (const line of CfgReader.items(l)) {
      const e = parseCpuidXend(p, line);
      if (e === 0) continue;
      ctx.r.warn(`while parsing CPUID line: "${line}":`);
      ctx.r.warn(`  error #${e}: ${XEND_ERRORS[e] ?? ''}`);
    }
  } else {
    const s = ctx.r.string('cpuid');
    if (s === undefined) return;
    const tokens = s.split(',').filter((t) => t !== '');
    if (tokens.length === 0) return;
    if (tokens[0] !== 'host') {
      ctx.r.warn(`while parsing CPUID string: "${s}":`);
      ctx.r.warn('  error: first word must be "host"');
      return;
    }
    for (const t of tokens.slice(1)) {
      const e = parseCpuidFlag(p, t);
      if (e === 0) continue;
      ctx.r.warn(`while parsing CPUID flag: "${t}":`);
      ctx.r.warn(`  error #${e}: ${FLAG_ERRORS[e] ?? ''}`);
    }
  }
  if (p.cpuid.length + p.msr.length > 0) ctx.config.b_info.cpuid = p;
}

/**
 * Top-level vnc/sdl keys: a PV guest without `vfb=` gets a vfb+vkb from them when `vnc` is
 * true; other guests put them in the HVM display settings.
 */
export function topLevelDisplay(ctx: ResolveContext): void {
  const r = ctx.r;
  const read = (): { vnc: Record<string, unknown>; sdl: Record<string, unknown> } => {
    const vnc: Record<string, unknown> = {};
    const sdl: Record<string, unknown> = {};
    const set = (o: Record<string, unknown>, k: string, v: unknown): void => { if (v !== undefined) o[k] = v; };
    set(vnc, 'enable', r.bool('vnc'));
    set(vnc, 'listen', r.string('vnclisten'));
    set(vnc, 'passwd', r.string('vncpasswd'));
    set(vnc, 'display', r.long('vncdisplay'));
    set(vnc, 'findunused', r.bool('vncunused'));
    set(sdl, 'enable', r.bool('sdl'));
    set(sdl, 'opengl', r.bool('opengl'));
    set(sdl, 'display', r.string('display'));
    set(sdl, 'xauthority', r.string('xauthority'));
    return { vnc, sdl };
  };
  const c = ctx.config;
  if (ctx.type === 'pv' && (c.vfbs?.length ?? 0) === 0) {
    if ((r.long('vnc') ?? 0) === 0) return;
    const devid = c.vfbs?.length ?? 0;
    const { vnc, sdl } = read();
    const vfb = { devid, vnc: { display: 0, ...vnc }, sdl } as Elem<'vfbs'>;
    const keymap = r.string('keymap');
    if (keymap !== undefined) vfb.keymap = keymap;
    c.vfbs = [...(c.vfbs ?? []), vfb];
    c.vkbs = [...(c.vkbs ?? []), newVkb(c.vkbs?.length ?? 0)];
  } else {
    // xl reads them here for a PV guest with vfb=[] too (into union memory a PV dump never shows).
    const { vnc, sdl } = read();
    if (ctx.type === 'hvm') {
      const hvm = ((c.b_info.u ??= {}).hvm ??= {});
      hvm.vnc = vnc;
      hvm.sdl = sdl;
    }
  }
}

/** `vkb=[...]`: devids continue after the vkbs the vfbs made. */
export function vkbs(ctx: ResolveContext): void {
  const list = items(ctx, 'vkb');
  if (list === undefined) return;
  const base = ctx.config.vkbs?.length ?? 0;
  ctx.config.vkbs = [...(ctx.config.vkbs ?? []), ...list.map((spec, i) => parseVkbSpec(spec, base + i))];
}

export function xenstoreQuota(ctx: ResolveContext): void {
  const list = items(ctx, 'xenstore_quota');
  if (list === undefined) return;
  ctx.config.b_info.xenstore_quota = {
    quota: list.map((s) => {
      const m = /^([^=]+)=\s*((?:0[xX][0-9a-fA-F]+)|\d+)$/.exec(s);
      if (m === null) throw cfgError(ctx, 'xenstore_quota', [`xl: invalid xenstore quota "${s}"`], { hint: 'items look like "nodes=1000"' });
      return { name: m[1] as string, val: Number(m[2]) };
    }),
  };
}

export function virtios(ctx: ResolveContext): void {
  const list = items(ctx, 'virtio');
  if (list !== undefined) ctx.config.virtios = list.map((spec, devid) => parseVirtioSpec(spec, devid));
}
