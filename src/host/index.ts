// The host area: what every other area needs of Linux — processes and pid files (zombie-aware),
// atomic files and private directories, keyed queues, the host's own figures.
export { ensurePrivateDir, fileError, writeFileAtomic, writeFileAtomicSync } from './files.js';
export { KeyedQueue } from './keyed-queue.js';
export { pidFileHolder, readPidFile, releasePidFile, tryTakePidFile } from './pid-file.js';
export { isPidAlive, killPid, logTail, pidCmdline, pidState, processCpuTimeNs, spawnDetached, threadCpuTimeNs, waitForPidExit } from './process.js';
export type { SpawnDetachedOptions } from './process.js';
export { readHostStats } from './stats.js';
export { freeForGuestsKiB, meminfoKiB, parseCpuKhz, parseCpuList, readHostFacts, readHostMemory } from './facts.js';
export type { CpuTopology, HostFacts, NumaNode } from './facts.js';
export { psrFromCpuinfo, psrFromResctrl, readPsrFeatures, resctrlMount } from './psr.js';
export type { PsrFeatures } from './psr.js';
