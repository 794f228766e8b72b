import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { hostname, machine, release, version } from 'node:os';

/**
 * The host as `xl info` describes it, read from Linux: uname, CPU topology from
 * /sys/devices/system/cpu, NUMA nodes from /sys/devices/system/node, memory from /proc/meminfo,
 * the CPU's frequency from /proc/cpuinfo and its feature words from /dev/cpu/0/cpuid (the cpuid
 * driver; all zero where the host lacks it).
 */
export interface HostFacts {
  readonly host: string;
  readonly release: string;
  readonly version: string;
  readonly machine: string;
  readonly cpus: readonly CpuTopology[];
  readonly nodes: readonly NumaNode[];
  readonly cpuKhz: number;
  /** Xen's first eight featureset words: 1.EDX 1.ECX e1.EDX e1.ECX 0xd/1.EAX 7/0.EBX 7/0.ECX e7.EDX. */
  readonly hwCaps: readonly number[];
  readonly totalKiB: number;
  /** MemAvailable (what the host can still give without swapping), KiB. */
  readonly availableKiB: number;
}

export interface CpuTopology {
  readonly cpu: number;
  readonly core: number;
  readonly socket: number;
  readonly node: number;
}

export interface NumaNode {
  readonly node: number;
  readonly totalKiB: number;
  readonly freeKiB: number;
  readonly distances: readonly number[];
}

const CPU_DIR = '/sys/devices/system/cpu';
const NODE_DIR = '/sys/devices/system/node';

export function readHostFacts(): HostFacts {
  const nodes = readNodes();
  return {
    host: hostname(),
    release: release(),
    version: version(),
    machine: machine(),
    cpus: readCpus(nodes),
    nodes: nodes.map((n) => n.info),
    cpuKhz: parseCpuKhz(readFileSync('/proc/cpuinfo', 'utf8')),
    hwCaps: readHwCaps(),
    ...readHostMemory(),
  };
}

/** The host's memory now (/proc/meminfo), KiB. */
export function readHostMemory(): { readonly totalKiB: number; readonly availableKiB: number } {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  return { totalKiB: meminfoKiB(meminfo, 'MemTotal'), availableKiB: meminfoKiB(meminfo, 'MemAvailable') };
}

/**
 * Memory free for another guest, KiB (`xl info`'s free_memory, what `claim_mode` checks): what
 * the kernel has available, or the total less what the guests were given when that is less (QEMU
 * takes a guest's RAM as the guest touches it, so the kernel alone would count a fresh guest free).
 */
export function freeForGuestsKiB(memory: { readonly totalKiB: number; readonly availableKiB: number }, guestsKiB: number): number {
  return Math.max(0, Math.min(memory.availableKiB, memory.totalKiB - guestsKiB));
}

/** `Key:   1234 kB` of /proc/meminfo (or a node's meminfo, `Node 0 Key: ...`) → 1234; 0 when absent. */
export function meminfoKiB(text: string, key: string): number {
  const m = new RegExp(`^(?:Node \\d+ )?${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** The first `cpu MHz : 2445.426` of /proc/cpuinfo → 2445426 kHz; 0 when absent (some arm hosts). */
export function parseCpuKhz(cpuinfo: string): number {
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo);
  return m === null ? 0 : Math.round(Number(m[1]) * 1000);
}

/** A sysfs list such as `0-3,8,10-11` → [0,1,2,3,8,10,11]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readNodes(): Array<{ info: NumaNode; cpus: number[] }> {
  const ids = parseCpuList(readText(`${NODE_DIR}/online`) ?? '');
  if (ids.length === 0) {
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    return [{ info: { node: 0, totalKiB: meminfoKiB(meminfo, 'MemTotal'), freeKiB: meminfoKiB(meminfo, 'MemFree'), distances: [10] }, cpus: [] }];
  }
  return ids.map((node) => {
    const dir = `${NODE_DIR}/node${node}`;
    const meminfo = readText(`${dir}/meminfo`) ?? '';
    return {
      info: {
        node,
        totalKiB: meminfoKiB(meminfo, 'MemTotal'),
        freeKiB: meminfoKiB(meminfo, 'MemFree'),
        distances: (readText(`${dir}/distance`) ?? '10').trim().split(/\s+/).map(Number),
      },
      cpus: parseCpuList(readText(`${dir}/cpulist`) ?? ''),
    };
  });
}

/** The host's online CPUs (/sys/devices/system/cpu/online), ascending. */
export function onlineCpus(): number[] {
  return parseCpuList(readText(`${CPU_DIR}/online`) ?? '');
}

function readCpus(nodes: ReadonlyArray<{ info: NumaNode; cpus: number[] }>): CpuTopology[] {
  const online = onlineCpus();
  const ids = online.length > 0 ? online : readdirSync(CPU_DIR).flatMap((d) => (/^cpu\d+$/.test(d) ? [Number(d.slice(3))] : []));
  return ids.sort((a, b) => a - b).map((cpu) => {
    const topo = (f: string): number => Number((readText(`${CPU_DIR}/cpu${cpu}/topology/${f}`) ?? '0').trim());
    return { cpu, core: topo('core_id'), socket: topo('physical_package_id'), node: nodes.find((n) => n.cpus.includes(cpu))?.info.node ?? 0 };
  });
}

/** One CPUID leaf (subleaf in the offset's high half, as the cpuid driver reads it): [eax, ebx, ecx, edx]. */
function cpuid(fd: number, leaf: number, subleaf = 0): number[] {
  const buf = Buffer.alloc(16);
  if (readSync(fd, buf, 0, 16, (BigInt(subleaf) << 32n) | BigInt(leaf)) !== 16) return [0, 0, 0, 0];
  return [0, 4, 8, 12].map((o) => buf.readUInt32LE(o));
}

function readHwCaps(): number[] {
  let fd: number;
  try {
    fd = openSync('/dev/cpu/0/cpuid', 'r');
  } catch {
    return new Array<number>(8).fill(0);
  }
  try {
    const at = (leaf: number, sub: number, reg: number): number => {
      try {
        return cpuid(fd, leaf, sub)[reg] ?? 0;
      } catch {
        return 0;
      }
    };
    return [at(1, 0, 3), at(1, 0, 2), at(0x80000001, 0, 3), at(0x80000001, 0, 2), at(0xd, 1, 0), at(7, 0, 1), at(7, 0, 2), at(0x80000007, 0, 3)];
  } finally {
    closeSync(fd);
  }
}
