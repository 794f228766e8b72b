import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { withXlLine } from '../cpupool.js';
import { getopt, requireArgs } from '../getopt.js';
import { schedPool } from '../sched.js';

/**
 * `xl cpupool-destroy <CPU Pool>` (`main_cpupooldestroy`): only a pool without domains (never
 * Pool-0, which holds Domain-0); its CPUs become free and its cpuset goes. Prints nothing.
 */
export const cpupoolDestroyCommand = defineCommand<CpupoolInfo>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('cpupool-destroy', p, 1);
    const q = p[0] as string;
    const api = connectToolstack(ctx);
    const pool = schedPool(await api.getScheduling(), q);
    return { data: await withXlLine(`Can't destroy cpupool '${q}'`, () => api.destroyCpupool({ pool: String(pool.poolid) })) };
  },
  render: () => '',
});
