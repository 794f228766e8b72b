import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { withXlLine } from '../cpupool.js';
import { getopt, requireArgs } from '../getopt.js';
import { schedPool } from '../sched.js';

/**
 * `xl cpupool-rename <CPU Pool> <new name>` (`main_cpupoolrename`): any pool, Pool-0 too, to any
 * name (libxl checks neither, as `cpupool-numa-split` relies on). Prints nothing.
 */
export const cpupoolRenameCommand = defineCommand<CpupoolInfo>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('cpupool-rename', p, 2);
    const [q, name] = p as [string, string];
    const api = connectToolstack(ctx);
    const pool = schedPool(await api.getScheduling(), q);
    return { data: await withXlLine(`Can't rename cpupool '${q}'`, () => api.renameCpupool({ pool: String(pool.poolid), name })) };
  },
  render: () => '',
});
