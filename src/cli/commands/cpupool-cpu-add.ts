import { cpupoolCpus } from '../cpupool.js';

/**
 * `xl cpupool-cpu-add <CPU Pool> <CPU nr>|node:<node nr>` (`main_cpupoolcpuadd`): each free CPU
 * of the cpulist joins the pool (its cpuset and its domains' follow); a CPU Xen refuses is
 * reported with libxl's line and xl's `some cpus may not have been added to POOL`, exit 0.
 */
export const cpupoolCpuAddCommand = cpupoolCpus('cpupool-cpu-add');
