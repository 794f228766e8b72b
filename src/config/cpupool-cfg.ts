/**
 * A CPU pool's config (xlcpupool.cfg(5), `xl cpupool-create`), read as xl's `main_cpupoolcreate`
 * reads it: `name` (else the config file's name), `sched` (else the host's scheduler), then the
 * CPUs — `nodes` (a list: every free CPU of those NUMA nodes), else `cpus` as a list of CPU
 * numbers or as a cpulist string; each must be free. Failures are xl's lines.
 */
import { basename } from 'node:path';
import { ToolstackError } from '../common/index.js';
import { cfgList, cfgListItem, cfgString } from './cfg/access.js';
import type { CfgDocument } from './cfg/types.js';
import { atoi } from './spec/c-parse.js';
import { parseCpuList } from './spec/cpulist.js';

/** What xl asks of the host while it reads a pool's config. */
export interface CpupoolHost {
  /** Every CPU of the host and its NUMA node. */
  readonly cpus: ReadonlyArray<{ readonly cpu: number; readonly node: number }>;
  /** The CPUs in no pool. */
  readonly freeCpus: readonly number[];
  /** The existing pools' names. */
  readonly poolNames: readonly string[];
  /** The host's scheduler (`libxl_get_scheduler`). */
  readonly scheduler: string;
}

export interface CpupoolConfig {
  readonly name: string;
  /** As libxl spells the scheduler (lower case); not necessarily one the host can run. */
  readonly sched: string;
  readonly cpus: readonly number[];
}

/** libxl's scheduler names (`libxl_scheduler_from_string`, case-insensitive). */
const LIBXL_SCHEDULERS = ['unknown', 'sedf', 'credit', 'credit2', 'arinc653', 'rtds', 'null'];

function xlFailure(line: string, hint: string): ToolstackError {
  return new ToolstackError('CPUPOOL', line, { lines: [line], hint });
}

/**
 * The pool `doc` describes (`file`: the config file, if any). Warnings xl prints while reading
 * go to `warnings`.
 */
export function cpupoolConfig(doc: CfgDocument, host: CpupoolHost, file: string | undefined, warnings: string[]): CpupoolConfig {
  const name = cfgString(doc, 'name') ?? (file === undefined ? undefined : basename(file));
  if (name === undefined) throw xlFailure('Missing cpupool name!', 'give name="POOL" (in the config or as an argument)');
  if (host.poolNames.includes(name)) throw xlFailure(`Pool name "${name}" already exists`, 'xl cpupool-list shows the pools; choose another name');
  const asked = cfgString(doc, 'sched');
  const sched = asked === undefined ? host.scheduler : LIBXL_SCHEDULERS.find((s) => s === asked.toLowerCase());
  if (sched === undefined) throw xlFailure('Unknown scheduler', `sched is one of ${LIBXL_SCHEDULERS.slice(2).join(', ')}`);
  const free = new Set(host.freeCpus);
  const notFree = (cpu: number): ToolstackError =>
    xlFailure(`cpu ${cpu} illegal or not free`, `free CPUs: ${host.freeCpus.join(',') || 'none'} (xl cpupool-cpu-remove Pool-0 CPU frees one)`);
  const nodes = cfgList(doc, 'nodes', { warnings });
  if (nodes !== undefined) {
    const wanted = nodes.map((_, i) => atoi(cfgListItem(nodes, i) ?? ''));
    const cpus = host.cpus.filter((c) => wanted.includes(c.node) && free.has(c.cpu)).map((c) => c.cpu);
    if (cpus.length === 0) throw xlFailure('no free cpu found', `free CPUs: ${host.freeCpus.join(',') || 'none'}, by node: see xl info -n`);
    return { name, sched, cpus };
  }
  const list = cfgList(doc, 'cpus');
  if (list !== undefined) {
    const cpus: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const cpu = atoi(cfgListItem(list, i) ?? '');
      if (cpu < 0 || !free.has(cpu)) throw notFree(cpu);
      cpus.push(cpu);
    }
    return { name, sched, cpus };
  }
  const text = cfgString(doc, 'cpus');
  if (text === undefined) return { name, sched, cpus: [] };
  const cpus = hostCpuList(text, host.cpus);
  const bad = cpus.find((c) => !free.has(c));
  if (bad !== undefined) throw notFree(bad);
  return { name, sched, cpus };
}

/**
 * xl's `parse_cpurange` on this host (its CPU bitmap; `node:` items by the CPUs' nodes): the CPUs
 * a cpulist (`1,5,10-16,^13`, `node:0`) names; SPEC_CPUS with xl's line when it is not one.
 */
export function hostCpuList(text: string, cpus: CpupoolHost['cpus']): number[] {
  const nr = Math.max(0, ...cpus.map((c) => c.cpu)) + 1;
  const cpuNodes = Array.from({ length: nr }, (_, cpu) => cpus.find((c) => c.cpu === cpu)?.node ?? -1);
  return parseCpuList(text, nr, { cpuNodes });
}
