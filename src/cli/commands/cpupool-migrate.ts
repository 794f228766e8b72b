import { connectToolstack } from '../../api/index.js';
import type { DomainSchedInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';
import { schedPool, xlLine } from '../sched.js';

/**
 * `xl cpupool-migrate <Domain> <CPU Pool>` (`main_cpupoolmigrate`): the domain's QEMU, every
 * thread, moves into the pool's cpuset, with the defaults of the pool's scheduler (as Xen resets
 * them). Domain-0, the host, stays; a pool without CPUs takes no domain. Prints nothing.
 */
export const cpupoolMigrateCommand = defineCommand<DomainSchedInfo>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('cpupool-migrate', p, 2);
    const [dom, q] = p as [string, string];
    const api = connectToolstack(ctx);
    const info = await api.getScheduling();
    const d = /^\d+$/.test(dom) ? info.domains.find((x) => x.domid === Number(dom)) : info.domains.find((x) => x.name === dom);
    if (d === undefined) throw xlLine(`unknown domain '${dom}'`, 'xl list shows the domains', 'DOMAIN_NOT_FOUND');
    const pool = schedPool(info, q);
    return { data: await api.migrateToCpupool({ ref: String(d.domid), pool: String(pool.poolid) }) };
  },
  render: () => '',
});
