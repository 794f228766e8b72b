import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl cpupool-numa-split` (`main_cpupoolnumasplit`): with only Pool-0, one pool per NUMA node,
 * `Pool-node<N>` (Pool-0 keeps the first CPU's node under that name). Domain-0 is the host:
 * none of its CPUs is taken offline. Prints nothing.
 */
export const cpupoolNumaSplitCommand = defineCommand<readonly CpupoolInfo[]>({
  async run(ctx, args) {
    getopt(args, '');
    return { data: await connectToolstack(ctx).numaSplitCpupools() };
  },
  render: () => '',
});
