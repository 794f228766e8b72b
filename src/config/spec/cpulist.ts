/**
 * CPU lists (`cpus=`, `cpus_soft=`, `xl vcpu-pin`, cpupool `cpus=`, xl.conf `vm.*cpumask`):
 * xl's `parse_cpurange`, and `print_bitmap` for the way xl shows such a set.
 *
 * Items are split with `strtok_r(",")` and applied left to right to a bitmap that starts
 * empty: `[^][node:|nodes:](all|N|N-M)`; `^` clears, `node(s):` means every CPU of those NUMA
 * nodes. The bitmap has libxl's size for the host (its CPU count rounded up to a whole byte):
 * `all` sets every bit of it, CPUs beyond it are silently dropped.
 */
import { specError, strtoul } from './c-parse.js';

const HINT = 'a CPU list is items like "all", "3", "0-7", "^1", "node:0" or "nodes:0-1", separated by commas';
const ULONG_MAX = (1n << 64n) - 1n;

/** Bits in a libxl CPU bitmap for a host with `nrCpus` CPUs (`libxl_cpu_bitmap_alloc(ctx, map, 0)`). */
export function cpuBitmapBits(nrCpus: number): number {
  return Math.ceil(nrCpus / 8) * 8;
}

export interface CpuListOptions {
  /** NUMA node of each host CPU (index = CPU); absent = every CPU on node 0. */
  readonly cpuNodes?: readonly number[];
}

/** xl's `parse_range`: `N` or `N-M` in decimal (strtoul: blanks and sign accepted), N <= M, no junk. */
function parseRange(s: string): { a: bigint; b: bigint } | undefined {
  const r1 = strtoul(s, 10);
  if (r1.end === 0 || r1.value === ULONG_MAX) return undefined;
  let b = r1.value;
  let rest = s.slice(r1.end);
  if (rest.startsWith('-')) {
    const r2 = strtoul(rest.slice(1), 10);
    if (r2.end === 0 || r2.value === ULONG_MAX || r2.value < r1.value) return undefined;
    b = r2.value;
    rest = rest.slice(1 + r2.end);
  }
  return rest === '' ? { a: r1.value, b } : undefined;
}

/**
 * `parse_cpurange`: the set bits (ascending) of the resulting bitmap. Throws SPEC_CPUS with xl's
 * line (`Invalid pcpu range: %s.` or `Can't combine "^" and "all".`).
 */
export function parseCpuList(text: string, nrCpus: number, options: CpuListOptions = {}): number[] {
  const size = cpuBitmapBits(nrCpus);
  const map = new Uint8Array(size);
  const nodes = options.cpuNodes ?? Array.from({ length: nrCpus }, () => 0);
  for (const item of text.split(',').filter((x) => x !== '')) {
    let s = item;
    const clear = s.startsWith('^');
    if (clear) s = s.slice(1);
    let isNodes = false;
    if (s.startsWith('node:') || s.startsWith('nodes:')) {
      isNodes = true;
      s = s.slice(s.indexOf(':') + 1);
    }
    if (s === 'all') {
      if (clear) throw specError('SPEC_CPUS', ['Can\'t combine "^" and "all".'], HINT);
      map.fill(1);
      continue;
    }
    const range = parseRange(s);
    if (range === undefined) throw specError('SPEC_CPUS', [`Invalid pcpu range: ${s}.`], HINT);
    const set = (cpu: number): void => {
      if (cpu < size) map[cpu] = clear ? 0 : 1;
    };
    if (isNodes) {
      nodes.forEach((node, cpu) => {
        if (BigInt(node) >= range.a && BigInt(node) <= range.b) set(cpu);
      });
    } else {
      const last = range.b < BigInt(size) ? Number(range.b) : size - 1;
      for (let cpu = Number(range.a < BigInt(size) ? range.a : BigInt(size)); cpu <= last; cpu++) set(cpu);
    }
  }
  const bits: number[] = [];
  map.forEach((v, i) => {
    if (v !== 0) bits.push(i);
  });
  return bits;
}

/**
 * xl's `print_bitmap` over the first `maplen` bits: `all` when every one is set, `none` when none
 * is, else comma-separated `a` / `a-b` ranges.
 */
export function formatCpuMap(bits: readonly number[], maplen: number): string {
  const set = new Set(bits);
  const parts: string[] = [];
  let start = -1;
  for (let i = 0; i <= maplen; i++) {
    const on = i < maplen && set.has(i);
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      if (start === 0 && i === maplen) return 'all';
      parts.push(i - 1 > start ? `${start}-${i - 1}` : `${start}`);
      start = -1;
    }
  }
  return parts.length === 0 ? 'none' : parts.join(',');
}
