/**
 * The options of `parse_config_data` that build lists (devices, affinities, ranges) or combine
 * several keys. Spec strings with their own grammar are parsed by `../spec/`; what xl does
 * inline in `parse_config_data` (devids, defaults between keys, small strtok specs) is here.
 */
import { ToolstackError } from '../../common/index.js';
import { parseDiskSpec } from '../spec/disk.js';
import { parseVifSpec } from '../spec/vif.js';
import { cfgError } from './context.js';
import type { ResolveContext } from './context.js';
import { SMBIOS_TYPES, VKB_BACKENDS } from './idl.js';
import { CfgReader } from './reader.js';

type Cfg = ResolveContext['config'];
type Elem<K extends keyof Cfg> = NonNullable<Cfg[K]> extends Array<infer E> ? E : never;

/** The items of list `key` (xl's `xlu_cfg_get_list` + `get_listitem`), or undefined. */
function items(ctx: ResolveContext, key: string): string[] | undefined {
  const l = ctx.r.list(key);
  return l === undefined ? undefined : CfgReader.items(l);
}

/** xl's strtok-style `key=value` walk: leading spaces skipped, stops at a token without `=`. */
function strtokPairs(spec: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of spec.split(',')) {
    if (raw === '') continue;
    const tok = raw.replace(/^ +/, '');
    const eq = tok.indexOf('=');
    if (eq < 0) break;
    out.push([tok.slice(0, eq), tok.slice(eq + 1)]);
  }
  return out;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function vnuma(ctx: ResolveContext): void {
  if (ctx.r.setting('vnuma') === undefined) return;
  throw cfgError(ctx, 'vnuma', ['xl: vnuma is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'remove vnuma= (QEMU guests get one NUMA node)' });
}

/** Host CPU bitmap width as libxl allocates it: whole bytes of the host's CPU count. */
function cpuBits(ctx: ResolveContext): number {
  return Math.ceil((ctx.options.hostCpus ?? 8) / 8) * 8;
}

/** xl's `parse_cpurange` without NUMA nodes (one node: `node:0` = all CPUs). */
export function parseCpuRange(ctx: ResolveContext, key: string, spec: string): number[] {
  const bits = new Set<number>();
  const width = cpuBits(ctx);
  for (let item of spec.split(',')) {
    if (item === '') continue;
    let not = false;
    if (item.startsWith('^')) {
      not = true;
      item = item.slice(1);
    }
    let nodes = false;
    for (const p of ['node:', 'nodes:']) {
      if (item.startsWith(p)) {
        nodes = true;
        item = item.slice(p.length);
      }
    }
    if (item === 'all') {
      if (not) throw cfgError(ctx, key, ['Can\'t combine "^" and "all".'], { code: 'SPEC_CPUS' });
      for (let i = 0; i < width; i++) bits.add(i);
      continue;
    }
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    const a = m === null ? NaN : Number(m[1]);
    const b = m?.[2] === undefined ? a : Number(m[2]);
    if (m === null || b < a) throw cfgError(ctx, key, [`Invalid pcpu range: ${item}.`], { code: 'SPEC_CPUS', hint: 'CPU lists look like "0-3,5,^1" or "all"' });
    const ids: number[] = [];
    if (nodes) {
      if (a > 0 || b > 0) throw cfgError(ctx, key, ['libxl_node_to_cpumap failed.'], { code: 'SPEC_CPUS', hint: 'this host has one NUMA node: node:0' });
      for (let i = 0; i < width; i++) ids.push(i);
    } else for (let i = a; i <= b; i++) ids.push(i);
    for (const i of ids) {
      if (i >= width) continue;
      if (not) bits.delete(i);
      else bits.add(i);
    }
  }
  return [...bits].sort((x, y) => x - y);
}

/** `cpus=` / `cpus_soft=`: one cpulist for every vCPU, or a list of them, one per vCPU. */
export function vcpuAffinity(ctx: ResolveContext, key: 'cpus' | 'cpus_soft', hard: boolean): void {
  const b = ctx.config.b_info;
  const maxVcpus = Number(b.max_vcpus ?? 0);
  const l = ctx.r.list(key, true);
  let maps: number[][];
  if (l !== undefined) {
    maps = CfgReader.items(l).slice(0, maxVcpus).map((s) => parseCpuRange(ctx, key, s));
    b.numa_placement = false;
  } else {
    const s = ctx.r.string(key);
    if (s === undefined) return;
    const map = parseCpuRange(ctx, key, s);
    maps = Array.from({ length: maxVcpus }, () => [...map]);
    if (!hard) b.numa_placement = false;
  }
  if (hard) b.vcpu_hard_affinity = maps;
  else b.vcpu_soft_affinity = maps;
}

/** `rdm="strategy=host,policy=strict|relaxed"`. */
export function rdm(ctx: ResolveContext): void {
  const s = ctx.r.string('rdm');
  if (s === undefined) return;
  const rdm: { strategy?: 'ignore' | 'host'; policy?: 'invalid' | 'strict' | 'relaxed' } = {};
  for (const tok of s.split(',')) {
    const [k, v] = tok.split('=');
    if (k === 'strategy' && v === 'host') rdm.strategy = 'host';
    else if (k === 'strategy' && v === 'ignore') rdm.strategy = 'ignore';
    else if (k === 'policy' && (v === 'strict' || v === 'relaxed')) rdm.policy = v;
    else {
      ctx.r.warn(`${ctx.r.doc.source}: config parsing error in rdm: unknown string \`${tok}' in rdm spec`);
      return;
    }
  }
  const hvm = ctx.config.b_info.u?.hvm ?? {};
  hvm.rdm = { ...hvm.rdm, ...rdm };
  ctx.rdmPolicy = rdm.policy;
  if (ctx.type === 'hvm') (ctx.config.b_info.u ??= {}).hvm = hvm;
}

export function pci(ctx: ResolveContext): void {
  if (ctx.r.setting('pci') === undefined) return;
  throw new ToolstackError('NOT_SUPPORTED', 'PCI passthrough is not supported by dom0 yet', { hint: 'remove pci= from the config' });
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

export function ioports(ctx: ResolveContext): void {
  const list = items(ctx, 'ioports');
  if (list === undefined) return;
  ctx.config.b_info.ioports = list.map((s) => {
    const bad = (): never => { throw cfgError(ctx, 'ioports', [`xl: Invalid argument parsing ioport: ${s}`], { hint: 'hex ports: "2f8" or "2f8-2ff"' }); };
    const m = /^\s*([0-9a-fA-F]+)(?:-([0-9a-fA-F]+))?$/.exec(s);
    if (m === null) return bad();
    const start = parseInt(m[1] as string, 16);
    const end = m[2] === undefined ? start : parseInt(m[2], 16);
    if (end < start) return bad();
    return { first: start, number: end - start + 1 };
  });
}

export function irqs(ctx: ResolveContext): void {
  const list = items(ctx, 'irqs');
  if (list === undefined) return;
  ctx.config.b_info.irqs = list.map((s) => {
    if (!/^\s*\d+$/.test(s)) throw cfgError(ctx, 'irqs', [`xl: Invalid argument parsing irq: ${s}`], { hint: 'decimal IRQ numbers' });
    return Number(s);
  });
}

export function iomem(ctx: ResolveContext): void {
  const list = items(ctx, 'iomem');
  if (list === undefined) return;
  ctx.config.b_info.iomem = list.map((s) => {
    const m = /^\s*(?:0[xX])?([0-9a-fA-F]+),\s*(?:0[xX])?([0-9a-fA-F]+)(?:@\s*(?:0[xX])?([0-9a-fA-F]+))?$/.exec(s);
    if (m === null) throw cfgError(ctx, 'iomem', [`xl: Invalid argument parsing iomem: ${s}`], { hint: 'hex "START,NUM[@GFN]"' });
    return {
      start: BigInt(`0x${m[1]}`),
      number: BigInt(`0x${m[2]}`),
      ...(m[3] === undefined ? {} : { gfn: BigInt(`0x${m[3]}`) }),
    };
  });
}

export function llcColors(ctx: ResolveContext): void {
  if (ctx.r.setting('llc_colors') === undefined) return;
  throw cfgError(ctx, 'llc_colors', ['xl: llc_colors is an Arm option'], { code: 'NOT_SUPPORTED', hint: 'remove llc_colors= on x86' });
}

export function disks(ctx: ResolveContext): void {
  const list = items(ctx, 'disk');
  if (list === undefined) return;
  ctx.config.disks = list.map((spec) => parseDiskSpec([spec], { source: ctx.r.doc.source }));
}

export function p9s(ctx: ResolveContext): void {
  const list = items(ctx, 'p9');
  if (list === undefined) return;
  ctx.config.p9s = list.map((spec) => {
    const p: Elem<'p9s'> = {};
    for (const [k, v] of strtokPairs(spec)) {
      if (k === 'security_model') p.security_model = v;
      else if (k === 'path') p.path = v;
      else if (k === 'tag') p.tag = v;
      else if (k === 'backend') p.backend_domname = v;
      else throw cfgError(ctx, 'p9', [`Unknown string \`${k}' in 9pfs spec`], { allowed: ['tag', 'security_model', 'path', 'backend'] });
    }
    if (p.path === undefined || p.security_model === undefined || p.tag === undefined) {
      throw cfgError(ctx, 'p9', ['9pfs spec missing required field!'], { hint: 'p9 needs tag=, security_model= and path=' });
    }
    return p;
  });
}

export function vtpms(ctx: ResolveContext): void {
  const list = items(ctx, 'vtpm');
  if (list === undefined) return;
  ctx.config.vtpms = list.map((spec, devid) => {
    const t: Elem<'vtpms'> = { devid };
    let backend = false;
    for (const [k, v] of strtokPairs(spec)) {
      if (k === 'backend') {
        t.backend_domname = v;
        backend = true;
      } else if (k === 'uuid') {
        if (!UUID_RE.test(v)) throw cfgError(ctx, 'vtpm', [`Failed to parse vtpm UUID: ${v}`]);
        t.uuid = v.toLowerCase();
      } else throw cfgError(ctx, 'vtpm', [`Unknown string \`${k}' in vtpm spec`], { allowed: ['backend', 'uuid'] });
    }
    if (!backend) throw cfgError(ctx, 'vtpm', ['vtpm spec missing required backend field!'], { hint: 'vtpm needs backend=DOMAIN' });
    return t;
  });
}

export function vdispls(ctx: ResolveContext): void {
  if (ctx.r.setting('vdispl') === undefined) return;
  throw cfgError(ctx, 'vdispl', ['xl: vdispl is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'remove vdispl=' });
}

export function pvcalls(ctx: ResolveContext): void {
  const list = items(ctx, 'pvcalls');
  if (list === undefined) return;
  ctx.config.pvcallsifs = list.map((spec, devid) => {
    const p: Elem<'pvcallsifs'> = { devid };
    for (const [k, v] of strtokPairs(spec)) {
      if (k === 'backend') p.backend_domname = v;
      else throw cfgError(ctx, 'pvcalls', [`Unknown string \`${k}' in pvcalls spec`], { allowed: ['backend'] });
    }
    return p;
  });
}

export function vsnds(ctx: ResolveContext): void {
  if (ctx.r.setting('vsnd') === undefined) return;
  throw cfgError(ctx, 'vsnd', ['xl: vsnd is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'remove vsnd=' });
}

/** `channel=[...]`: split+trim `key=value` pairs; `connection` pty or socket (with `path`). */
export function channels(ctx: ResolveContext): void {
  const list = items(ctx, 'channel');
  if (list === undefined) return;
  ctx.config.channels = list.map((spec, devid) => {
    const c: Elem<'channels'> = { devid };
    let path: string | undefined;
    for (const pair of spec.split(',').filter((p) => p !== '')) {
      const parts = pair.split('=').filter((p) => p !== '');
      if (parts.length < 2) throw cfgError(ctx, 'channel', [`failed to parse channel configuration: ${pair}`]);
      const key = (parts[0] as string).trim();
      const value = (parts[1] as string).trim();
      if (key === 'backend') c.backend_domname = value;
      else if (key === 'name') c.name = value;
      else if (key === 'path') path = value;
      else if (key === 'connection') {
        if (value !== 'pty' && value !== 'socket') throw cfgError(ctx, 'channel', [`unknown channel connection '${value}'`], { allowed: ['pty', 'socket'] });
        c.connection = value;
      } else ctx.r.warn(`unknown channel parameter '${key}', ignoring`);
    }
    if (c.connection === undefined) throw cfgError(ctx, 'channel', ['channel has unknown \'connection\''], { allowed: ['pty', 'socket'] });
    if (c.connection === 'socket') {
      if (path === undefined) throw cfgError(ctx, 'channel', ['channel connection \'socket\' requires path=..'], { hint: 'add path=/run/some.sock' });
      c.u = { socket: { path } };
    }
    return c;
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

/** One vfb from its `key=value` items (unknown keys are ignored, as xl does). */
function vfbFrom(spec: string, devid: number): Elem<'vfbs'> {
  const vfb: Elem<'vfbs'> = { devid, vnc: {}, sdl: {} };
  const vnc = vfb.vnc as NonNullable<Elem<'vfbs'>['vnc']>;
  const sdl = vfb.sdl as NonNullable<Elem<'vfbs'>['sdl']>;
  const atoi = (s: string): number => Number(/^\s*[+-]?\d+/.exec(s)?.[0] ?? 0);
  for (const [k, v] of strtokPairs(spec)) {
    if (k === 'vnc') vnc.enable = atoi(v) !== 0;
    else if (k === 'vnclisten') vnc.listen = v;
    else if (k === 'vncpasswd') vnc.passwd = v;
    else if (k === 'vncdisplay') vnc.display = atoi(v);
    else if (k === 'vncunused') vnc.findunused = atoi(v) !== 0;
    else if (k === 'keymap') vfb.keymap = v;
    else if (k === 'sdl') sdl.enable = atoi(v) !== 0;
    else if (k === 'opengl') sdl.opengl = atoi(v) !== 0;
    else if (k === 'display') sdl.display = v;
    else if (k === 'xauthority') sdl.xauthority = v;
  }
  return vfb;
}

/** `vfb=[...]`: each vfb also gets a vkb (same devid). */
export function vfbs(ctx: ResolveContext): void {
  const list = items(ctx, 'vfb');
  if (list === undefined) return;
  ctx.config.vfbs = list.map((spec, devid) => vfbFrom(spec, devid));
  ctx.config.vkbs = list.map((_, devid) => ({ devid }));
}

export function usbctrls(ctx: ResolveContext): void {
  if (ctx.r.setting('usbctrl') === undefined) return;
  throw cfgError(ctx, 'usbctrl', ['xl: usbctrl is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'for HVM use usb=1 and usbdevice=' });
}

export function usbdevs(ctx: ResolveContext): void {
  if (ctx.r.setting('usbdev') === undefined) return;
  throw cfgError(ctx, 'usbdev', ['xl: usbdev is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'for HVM use usbdevice=' });
}

export function cpuid(ctx: ResolveContext): void {
  if (ctx.r.setting('cpuid') === undefined) return;
  throw cfgError(ctx, 'cpuid', ['xl: cpuid is not supported by dom0 yet'], { code: 'NOT_SUPPORTED', hint: 'remove cpuid=' });
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
    const vfb: Elem<'vfbs'> = { devid, vnc, sdl };
    const keymap = r.string('keymap');
    if (keymap !== undefined) vfb.keymap = keymap;
    c.vfbs = [...(c.vfbs ?? []), vfb];
    c.vkbs = [...(c.vkbs ?? []), { devid: c.vkbs?.length ?? 0 }];
  } else if (ctx.type !== 'pv') {
    const { vnc, sdl } = read();
    if (ctx.type === 'hvm') {
      const hvm = ((c.b_info.u ??= {}).hvm ??= {});
      hvm.vnc = vnc;
      hvm.sdl = sdl;
    }
  }
}

/** `vkb=[...]`: `backend-type` required; feature and size keys per xl's parse_vkb_config. */
export function vkbs(ctx: ResolveContext): void {
  const list = items(ctx, 'vkb');
  if (list === undefined) return;
  const numKeys = {
    'feature-disable-keyboard': 'feature_disable_keyboard', 'feature-disable-pointer': 'feature_disable_pointer',
    'feature-abs-pointer': 'feature_abs_pointer', 'feature-raw-pointer': 'feature_raw_pointer',
    'feature-multi-touch': 'feature_multi_touch', 'multi-touch-width': 'multi_touch_width',
    'multi-touch-height': 'multi_touch_height', 'multi-touch-num-contacts': 'multi_touch_num_contacts',
    'width': 'width', 'height': 'height',
  } as const;
  const base = ctx.config.vkbs?.length ?? 0;
  const added = list.map((spec, i) => {
    const v: Elem<'vkbs'> = { devid: base + i };
    const nums = v as Record<string, unknown>;
    for (const raw of spec.split(',')) {
      if (raw === '') continue;
      const tok = raw.replace(/^ +/, '');
      const eq = tok.indexOf('=');
      const k = eq < 0 ? tok : tok.slice(0, eq);
      const val = tok.slice(eq + 1);
      if (eq >= 0 && k === 'backend') v.backend_domname = val;
      else if (eq >= 0 && k === 'backend-type') {
        const t = VKB_BACKENDS.find((b) => b === val.toLowerCase());
        if (t === undefined) throw cfgError(ctx, 'vkb', [`Unknown backend_type "${val}" in vkb spec`], { allowed: ['qemu', 'linux'] });
        v.backend_type = t;
      } else if (eq >= 0 && k === 'unique-id') v.unique_id = val;
      else if (eq >= 0 && k in numKeys) {
        const field = numKeys[k as keyof typeof numKeys];
        const n = Number(/^\s*\d+/.exec(val)?.[0] ?? 0);
        nums[field] = field.startsWith('feature') ? n !== 0 : n;
      } else throw cfgError(ctx, 'vkb', [`Unknown string "${tok}" in vkb spec`], { allowed: ['backend', 'backend-type', 'unique-id', ...Object.keys(numKeys)] });
    }
    if (v.backend_type === undefined || v.backend_type === 'unknown') {
      throw cfgError(ctx, 'vkb', ['backend-type should be set in vkb spec'], { allowed: ['qemu', 'linux'] });
    }
    if (v.multi_touch_height || v.multi_touch_width || v.multi_touch_num_contacts) v.feature_multi_touch = true;
    else if (v.feature_multi_touch === true) {
      throw cfgError(ctx, 'vkb', ['multi-touch-width, multi-touch-height, multi-touch-num-contacts should be set for multi touch in vkb spec']);
    }
    return v;
  });
  ctx.config.vkbs = [...(ctx.config.vkbs ?? []), ...added];
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
  if (ctx.r.setting('virtio') === undefined) return;
  throw cfgError(ctx, 'virtio', ['xl: virtio= is an Arm option'], { code: 'NOT_SUPPORTED', hint: 'remove virtio= on x86' });
}
