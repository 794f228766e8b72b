/**
 * The options of `parse_config_data` about vCPUs and their placement: affinities (`cpus=`,
 * `cpus_soft=`), virtual NUMA nodes (`vnuma=`) and the CPUID policy (`cpuid=`).
 */
import { cfgValueList } from '../cfg/access.js';
import { parseCpuList } from '../spec/cpulist.js';
import { cfgError, checkVcpuCount } from './context.js';
import type { GuestType, ResolveContext } from './context.js';
import type { XlConf } from '../xlconf.js';
import { parseCpuidFlag, parseCpuidXend } from './cpuid.js';
import type { CpuidPolicy } from './cpuid.js';
import { CfgReader } from './reader.js';

/** xl's `parse_ulong`: decimal `strtoul`, exiting on no digits. */
function parseUlong(ctx: ResolveContext, key: string, s: string): number {
  const m = /^[ \t\n\v\f\r]*[+-]?\d+/.exec(s);
  if (m === null) throw cfgError(ctx, key, [`xl: failed to convert "${s}" to number`]);
  return Number(m[0]);
}

/** xl's `parse_range` (errors ignored, as `vnuma` ignores them): `N` or `N-M`. */
export function looseRange(s: string): [number, number] {
  const m = /^[ \t]*[+-]?(\d*)(?:-[ \t]*[+-]?(\d*))?/.exec(s);
  const a = Number(m?.[1] === undefined || m[1] === '' ? 0 : m[1]);
  const b = m?.[2] === undefined ? a : Number(m[2] === '' ? 0 : m[2]);
  return [a, b];
}

/** Virtual NUMA nodes a domain may have: Xen's MAX_NUMNODES on x86. */
const MAX_VNUMA_NODES = 64;

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
  // Each node has a distance to every node: n*n numbers, before any node is read.
  if (n > MAX_VNUMA_NODES) throw cfgError(ctx, 'vnuma', [`xl: vnuma has ${n} nodes: Xen takes at most ${MAX_VNUMA_NODES} (MAX_NUMNODES)`], { hint: `give at most ${MAX_VNUMA_NODES} virtual nodes` });
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

/**
 * xl.conf's global affinity mask for a guest of `type` on a host of `nrCpus` CPUs (xl's
 * `apply_global_affinity_masks`): `vm.cpumask` ANDed with `vm.pv.cpumask` (PV) or
 * `vm.hvm.cpumask` (HVM, PVH); undefined when neither is set. A hard affinity is ANDed with it.
 */
export function globalAffinityMask(xl: Pick<XlConf, 'vmCpumask' | 'vmHvmCpumask' | 'vmPvCpumask'>, type: GuestType, nrCpus: number): number[] | undefined {
  const masks = [xl.vmCpumask, type === 'pv' ? xl.vmPvCpumask : xl.vmHvmCpumask].flatMap((s) => (s === undefined ? [] : [parseCpuList(s, nrCpus)]));
  const [first, ...rest] = masks;
  return first === undefined ? undefined : rest.reduce((acc, m) => acc.filter((c) => m.includes(c)), first);
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
