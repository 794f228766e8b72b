/**
 * What a daemon started by a user's command takes from that command's process and must not keep:
 * dom0d is started by whichever `xl` comes first and then runs every domain's QEMU, which inherit
 * from it in turn, for as long as they live.
 * - Descriptors: Node marks its own close-on-exec, not those it was given. A descriptor the first
 *   xl's shell held open without the flag (`exec 200>lock; flock 200; xl create ...`, a pipe a
 *   script waits on) was held by dom0d and by every QEMU: the lock never freed, the pipeline never
 *   ended.
 * - Scheduling: a nice value, a CPU affinity (`taskset -c 0 xl list`), an I/O class (`ionice -c
 *   3`) and an OOM score were dom0d's and every later guest's, whatever their configs said.
 * Each is put back to what the host gives a new process: descriptors above 2 without the
 * close-on-exec flag closed, and with `scheduling` (a daemon a user's command started, not one an
 * administrator started with the settings they chose) nice 0, every online CPU, the best-effort
 * I/O class, OOM score 0 (those a user may not raise, as not root, stay). Returns what was put
 * back, for a log line.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { allowedCpus, setThreadAffinity } from './affinity.js';
import { onlineCpus } from './facts.js';

/** O_CLOEXEC as fdinfo's `flags:` (octal) shows it. */
const O_CLOEXEC = 0o2000000;

export async function shedInherited(o: { readonly scheduling: boolean }): Promise<string[]> {
  const done: string[] = [];
  const closed = closeInheritedFds();
  if (closed.length > 0) done.push(`descriptors ${closed.join(',')} closed`);
  if (!o.scheduling) return done;
  const tried = (what: string, f: () => boolean): void => {
    try {
      if (f()) done.push(what);
    } catch {
      // not ours to change (a user who is not root may not lower a nice value)
    }
  };
  const nice = getPriority();
  tried(`nice ${nice} to 0`, () => {
    if (nice === 0) return false;
    // Linux keeps a nice value per thread: Node's threads started with the process's.
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), 0);
    return true;
  });
  const allowed = allowedCpus();
  const online = onlineCpus();
  if (online.length > 0 && allowed.join(',') !== online.join(',') && await setThreadAffinity(process.pid, online, true) === undefined) {
    done.push(`CPU affinity ${allowed.join(',')} to ${online.join(',')}`);
  }
  tried('I/O class to best-effort', () => {
    const now = spawnSync('ionice', ['-p', String(process.pid)], { encoding: 'utf8' }).stdout ?? '';
    if (now === '' || /^(?:none|best-effort): prio 4$/m.test(now.trim())) return false;
    return spawnSync('ionice', ['-c', '2', '-n', '4', '-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
  });
  tried('OOM score to 0', () => {
    const score = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
    if (score === '0') return false;
    writeFileSync('/proc/self/oom_score_adj', '0');
    return true;
  });
  return done;
}

/** Closes every descriptor above 2 that lacks close-on-exec; returns their numbers. */
function closeInheritedFds(): number[] {
  const closed: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      flags = Number.parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
    } catch {
      continue; // the directory's own descriptor, gone once read
    }
    if (Number.isNaN(flags) || (flags & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return closed;
}
