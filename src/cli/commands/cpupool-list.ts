import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { cpupoolTable } from '../cpupool.js';
import { getopt } from '../getopt.js';
import { xlLine } from '../sched.js';

/**
 * `xl cpupool-list [-c|--cpus] [<CPU Pool>]` (`main_cpupoollist`): every pool, or the one named
 * (by name only, as libxl_name_to_cpupoolid looks it up), with its CPU count, scheduler and
 * domains (Domain-0 counts in Pool-0), or with `-c` its CPUs.
 */
export const cpupoolListCommand = defineCommand<{ readonly pools: readonly CpupoolInfo[]; readonly cpus: boolean; toJSON?(): unknown }>({
  async run(ctx, args) {
    const o = getopt(args, 'c', [{ name: 'cpus', hasArg: false, short: 'c' }]);
    const name = o.positional[0];
    const { pools } = await connectToolstack(ctx).getScheduling();
    const shown = name === undefined ? pools : pools.filter((p) => p.name === name);
    if (name !== undefined && shown.length === 0) throw xlLine(`Pool '${name}' does not exist`, `the pools: ${pools.map((p) => p.name).join(', ')}`, 'CPUPOOL');
    const listed = shown.slice(0, name === undefined ? undefined : 1);
    return { data: { pools: listed, cpus: o.has('c'), toJSON: () => listed } };
  },
  render: (d) => cpupoolTable(d.pools, d.cpus),
});
