import { cpupoolCpus } from '../cpupool.js';

/**
 * `xl cpupool-cpu-remove <CPU Pool> <CPU nr>|node:<node nr>` (`main_cpupoolcpuremove`): each CPU
 * of the cpulist leaves the pool and is free; CPU 0 stays in Pool-0, and a pool with domains
 * keeps its last CPU. Refusals: libxl's line each and xl's two lines, exit 0.
 */
export const cpupoolCpuRemoveCommand = cpupoolCpus('cpupool-cpu-remove');
