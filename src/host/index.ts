// The host area: what every other area needs of Linux — processes and pid files (zombie-aware),
// atomic files and private directories, keyed queues, the host's own figures.
export { boundAppendedLog, ensurePrivateDir, fileError, firstNonUtf8Line, probePaths, punchHole, readFileTail, readPlainFileSync, rotateLog, socketPathProblem, syncDir, untrustedLink, untrustedLinkRefusal, writeFileAtomic, writeFileAtomicSync } from './files.js';
export type { FileTail } from './files.js';
export { CommandFailed, HOTPLUG_TIMEOUT_MS, runCommand } from './command.js';
export type { RunOptions } from './command.js';
export { openFilesLimit, shortageError, shortageOf } from './shortage.js';
export type { Shortage } from './shortage.js';
export { KeyedQueue } from './keyed-queue.js';
export { pidFileHolder, readPidFile, releasePidFile, tryTakePidFile } from './pid-file.js';
export { childPids, executableProblem, isPidAlive, isPidStopped, pidAliveOr, killPid, processStartTime, logTail, pidCmdline, pidState, processCpuTimeNs, spawnDetached, threadCpuTimeNs, threadSched, waitForPidExit } from './process.js';
export type { DetachedChild, SpawnDetachedOptions, ThreadSched } from './process.js';
export { allowedCpus, readHostCpuSched, setThreadAffinity } from './affinity.js';
export type { HostCpuSched } from './affinity.js';
export { readHostStats } from './stats.js';
export { CAP_PERIOD_US, CgroupTree, findCpuCgroups, formatCgroupList, SCHED_CGROUP_MAP } from './cgroups.js';
export type { CgroupFile, CgroupMounts, CpuReservation, Cpuset, CpuShare } from './cgroups.js';
export { freeForGuestsKiB, meminfoKiB, onlineCpus, parseCpuKhz, parseCpuList, readHostFacts, readHostMemory } from './facts.js';
export type { CpuTopology, HostFacts, NumaNode } from './facts.js';
export { psrFromCpuinfo, psrFromResctrl, readPsrFeatures, resctrlMount } from './psr.js';
export type { PsrFeatures } from './psr.js';
export { HostPci, VFIO_PCI_DRIVER } from './pci.js';
export { HostUsb } from './usb.js';
export { bindUnixSocket, listenOn } from './listen.js';
export { HeldDir, heldPath, ReplacingFile } from './pinned.js';
export { shedInherited } from './inherited.js';
export type { ListenAt } from './listen.js';
