import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * The host's own figures, from Linux's /proc (Domain-0 is the host itself, design.md: its row in
 * `xl list` and `xl uptime` comes from here). Clock ticks in /proc are USER_HZ, which is 100 on
 * every Linux ABI we run on. /proc files are read synchronously: they are generated in memory,
 * and the thread-pool round trips of async reads cost more than the reads (on every `xl list`).
 */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

export interface HostStats {
  /** MemTotal, KiB. */
  readonly memKiB: number;
  /** CPUs this process may use (`nproc`). */
  readonly cpus: number;
  /** CPU time spent outside idle by all CPUs, ns (/proc/stat). */
  readonly cpuTimeNs: number;
  /** Seconds since boot (/proc/uptime). */
  readonly uptimeSec: number;
}

export function readHostStats(): HostStats {
  return {
    memKiB: parseMemTotalKiB(readFileSync('/proc/meminfo', 'utf8')),
    cpus: availableParallelism(),
    cpuTimeNs: parseBusyCpuNs(readFileSync('/proc/stat', 'utf8')),
    uptimeSec: Number.parseFloat(readFileSync('/proc/uptime', 'utf8')),
  };
}

/** `MemTotal:  24684360 kB` → 24684360. */
export function parseMemTotalKiB(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo);
  return m === null ? 0 : Number(m[1]);
}

/** The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ... → busy ns. */
export function parseBusyCpuNs(stat: string): number {
  const m = /^cpu\s+(.*)$/m.exec(stat);
  return m === null ? 0 : busyNs(m[1] as string);
}

/** The `cpuN` lines of /proc/stat: each CPU's busy time (all but idle and iowait), ns, by CPU. */
export function parsePerCpuBusyNs(stat: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of stat.matchAll(/^cpu(\d+)\s+(.*)$/gm)) out.set(Number(m[1]), busyNs(m[2] as string));
  return out;
}

function busyNs(fields: string): number {
  const f = fields.trim().split(/\s+/).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  return (at(0) + at(1) + at(2) + at(5) + at(6) + at(7)) * NS_PER_TICK;
}
