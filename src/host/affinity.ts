/**
 * CPU affinity and the host's CPUs as the scheduler sees them. Node has no binding for
 * sched_setaffinity: a thread's affinity is set by util-linux's `taskset -p -c LIST TID` (on every
 * Debian system), which acts on that one thread.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseCpuList } from './facts.js';
import { parseThreadStat } from './process.js';
import { parsePerCpuBusyNs } from './stats.js';

/**
 * Sets the hard affinity of thread `tid` (with `allThreads`, of every thread of process `tid`) to `cpus`. Resolves with undefined once set, or with
 * the kernel's reason for refusing in strerror's words (`Invalid argument` when none of `cpus`
 * may be used, `No such process` when the thread is gone).
 */
export function setThreadAffinity(tid: number, cpus: readonly number[], allThreads = false): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus.join(','), String(tid)], (error, _stdout, stderr) => {
      if (error === null) {
        resolve(undefined);
        return;
      }
      // "taskset: failed to set pid 123's affinity: Invalid argument"
      const said = stderr.trim().split('\n').pop() ?? '';
      resolve(said === '' ? error.message : said.slice(said.lastIndexOf(': ') + 2));
    });
  });
}

/** One host CPU as Domain-0's vCPU: its busy time so far and whether a task is running or runnable on it now. */
export interface HostCpuSched {
  readonly cpu: number;
  readonly busyNs: number;
  readonly runnable: boolean;
}

/**
 * The CPUs this process may run on (its own hard affinity, which a cpuset can narrow), with
 * their busy time (/proc/stat) and whether some task is running or runnable on each (a task in
 * state R whose last CPU it is; this process, reading, is one).
 */
export function readHostCpuSched(): HostCpuSched[] {
  const busy = parsePerCpuBusyNs(readFileSync('/proc/stat', 'utf8'));
  const runnable = runnableCpus();
  return allowedCpus().map((cpu) => ({ cpu, busyNs: busy.get(cpu) ?? 0, runnable: runnable.has(cpu) }));
}

/** The CPUs this process may run on: its main thread's hard affinity. */
export function allowedCpus(): number[] {
  return parseCpuList(/^Cpus_allowed_list:\s*(\S*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '');
}

/** The CPUs some task of the host is running or runnable on now (every /proc/PID/task/TID/stat). */
function runnableCpus(): Set<number> {
  const out = new Set<number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const t = parseThreadStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        if (t.state === 'R') out.add(t.cpu);
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return out;
}
