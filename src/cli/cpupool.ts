/**
 * What the `xl cpupool-*` commands share (xl_cpupool.c): xl's trailing line after a failed libxl
 * call, and the `cpupool-list` table.
 */
import { connectToolstack } from '../api/index.js';
import type { CpupoolCpusResult, CpupoolInfo } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import { hostCpuList } from '../config/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { getopt, requireArgs } from './getopt.js';
import { schedPool } from './sched.js';

/** Runs `op`; a failure of it (not dom0d's absence) ends with xl's `line` after libxl's. */
export async function withXlLine<T>(line: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e: unknown) {
    if (!(e instanceof ToolstackError) || e.code === 'DAEMON_UNAVAILABLE') throw e;
    throw new ToolstackError(e.code, e.message, {
      cause: e, lines: [...(e.lines ?? [e.message]), line], ...(e.hint === undefined ? {} : { hint: e.hint }),
    });
  }
}

/** `xl cpupool-list [-c]`: `%-19s` names, then the CPU count, scheduler, `y` and the domain count, or the CPUs. */
export function cpupoolTable(pools: readonly CpupoolInfo[], cpus: boolean): string {
  const head = `${'Name'.padEnd(19)}${cpus ? 'CPU list' : 'CPUs   Sched     Active   Domain count'}\n`;
  return head + pools.map((p) => p.name.padEnd(19) + (cpus
    ? p.cpus.join(',')
    : `${String(p.cpus.length).padStart(3)} ${p.sched.padStart(9)}       y       ${String(p.domains).padStart(4)}`) + '\n').join('');
}

/**
 * `xl cpupool-cpu-add` / `cpupool-cpu-remove <CPU Pool> <cpulist>`: the cpulist is read first
 * (xl's parse_cpurange: its errors end the command), then the pool; CPUs Xen refuses are
 * reported with libxl's line each and xl's own, and the command still succeeds.
 */
export function cpupoolCpus(name: 'cpupool-cpu-add' | 'cpupool-cpu-remove'): CommandImpl {
  return defineCommand<CpupoolCpusResult>({
    async run(ctx, args) {
      const p = getopt(args, '').positional;
      requireArgs(name, p, 2);
      const [q, list] = p as [string, string];
      const api = connectToolstack(ctx);
      const info = await api.getScheduling();
      const cpus = hostCpuList(list, info.cpus);
      const pool = String(schedPool(info, q).poolid);
      const r = name === 'cpupool-cpu-add' ? await api.addCpupoolCpus({ pool, cpus }) : await api.removeCpupoolCpus({ pool, cpus });
      if (r.errors.length > 0) {
        for (const l of r.errors) ctx.warn(l);
        if (name === 'cpupool-cpu-add') ctx.warn(`some cpus may not have been added to ${q}`);
        else {
          ctx.warn(`Some cpus may have not or only partially been removed from '${q}'.`);
          ctx.warn(`If a cpu can't be added to another cpupool, add it to '${q}' again and retry.`);
        }
      }
      return { data: r };
    },
    render: () => '',
  });
}
