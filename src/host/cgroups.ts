/**
 * Linux control groups for CPU scheduling: the `cpu` controller (shares and bandwidth) and the
 * `cpuset` controller (which CPUs and memory nodes), on cgroup v2 (one unified hierarchy) or v1
 * (one hierarchy per controller), chosen at run time: v2 when its root offers both controllers,
 * else v1 when both are mounted. A `CgroupTree` is one top group (dom0d's) and the groups under
 * it, named by paths relative to it (`pool1/dom3/vcpu0`), the same path in every hierarchy.
 *
 * What Xen's scheduler parameters become is `SCHED_CGROUP_MAP`, the one table of that mapping.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno, ToolstackError } from '../common/index.js';
import { parseCpuList } from './facts.js';

/** Where the host's `cpu` and `cpuset` controllers are mounted (the same directory on v2). */
export interface CgroupMounts {
  readonly version: 1 | 2;
  readonly cpu: string;
  readonly cpuset: string;
}

/**
 * Finds the controllers from `/proc/self/mountinfo` (its text given): a cgroup2 mount whose root
 * `cgroup.controllers` lists `cpu` and `cpuset` (read by `controllersOf`), else cgroup v1 mounts
 * carrying `cpu` and `cpuset`. Undefined when the host has neither.
 */
export function findCpuCgroups(
  mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8'),
  controllersOf: (mount: string) => string = (mount) => readFileSync(join(mount, 'cgroup.controllers'), 'utf8'),
): CgroupMounts | undefined {
  let cpu: string | undefined;
  let cpuset: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined) continue;
    const mount = unescapeMount(pre.split(' ')[4] ?? '');
    const [fstype, , superOptions = ''] = post.split(' ');
    if (fstype === 'cgroup2') {
      let offered: string[];
      try {
        offered = controllersOf(mount).trim().split(/\s+/);
      } catch {
        continue;
      }
      if (offered.includes('cpu') && offered.includes('cpuset')) return { version: 2, cpu: mount, cpuset: mount };
    } else if (fstype === 'cgroup') {
      const options = superOptions.split(',');
      if (options.includes('cpu')) cpu ??= mount;
      if (options.includes('cpuset')) cpuset ??= mount;
    }
  }
  return cpu !== undefined && cpuset !== undefined ? { version: 1, cpu, cpuset } : undefined;
}

/** mountinfo escapes blanks, tabs, newlines and backslashes as `\ooo`. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The `cpu` controller's fixed bandwidth period for a cap, µs (the kernel's default). */
export const CAP_PERIOD_US = 100_000;
/** The kernel's bounds on a bandwidth period and quota, µs. */
const MIN_PERIOD_US = 1_000;
const MAX_PERIOD_US = 1_000_000;
const MIN_QUOTA_US = 1_000;

/** A domain's share of CPU under credit or credit2: Xen's weight (1..65535) and cap (% of one CPU, 0 = none). */
export interface CpuShare {
  readonly weight: number;
  readonly cap: number;
}

/** A vCPU's RTDS reservation: `budget` µs of CPU every `period` µs; `extratime`: it may use idle CPU beyond. */
export interface CpuReservation {
  readonly period: number;
  readonly budget: number;
  readonly extratime: boolean;
}

/** One `cpu` controller file and what to write to it. */
export type CgroupFile = readonly [file: string, value: string];

/**
 * Xen's scheduler parameters as `cpu` controller files: the one table of the mapping.
 *
 * | Xen (xl)                               | group  | cgroup v1                                                   | cgroup v2                           |
 * |----------------------------------------|--------|-------------------------------------------------------------|-------------------------------------|
 * | weight 1..65535 (credit, credit2; 256) | domain | `cpu.shares` = weight × 4 (1024)                            | `cpu.weight` = weight × 100 / 256, rounded, 1..10000 (100) |
 * | cap, % of one CPU (0 = none)           | domain | `cpu.cfs_period_us` = 100000, `cpu.cfs_quota_us` = cap × 1000 (-1) | `cpu.max` = `cap×1000 100000` (`max 100000`) |
 * | rtds period P, budget B µs, extratime 0 | vCPU  | `cpu.cfs_period_us` = P, `cpu.cfs_quota_us` = B             | `cpu.max` = `B P`                   |
 * | rtds extratime 1 (the default)         | vCPU   | `cpu.cfs_period_us` = P, `cpu.cfs_quota_us` = -1            | `cpu.max` = `max P`                 |
 * | cpupool cpus (nodes)                   | pool   | `cpuset.cpus`, `cpuset.mems` (the nodes of those CPUs)      | the same files                      |
 *
 * Weight and cap are ratios and a ceiling for the domain's whole process; the kernel has no
 * reservation, so an RTDS budget is the vCPU's ceiling, enforced only without extratime (with it,
 * Xen lets the vCPU run on idle CPUs past its budget). The kernel takes a period of 1 ms to 1 s
 * and a quota of at least 1 ms: an RTDS period or budget under 1 ms is scaled up with the other
 * (the vCPU keeps its share budget/period), a period over 1 s cut to 1 s with the budget. A group whose
 * scheduler has no such parameter gets the neutral values (weight 256, no cap, no quota).
 */
export const SCHED_CGROUP_MAP = {
  share(version: 1 | 2, s: CpuShare): CgroupFile[] {
    if (version === 1) {
      return [['cpu.shares', String(s.weight * 4)], ...bandwidth1(CAP_PERIOD_US, s.cap === 0 ? undefined : s.cap * (CAP_PERIOD_US / 100))];
    }
    return [
      ['cpu.weight', String(Math.min(10_000, Math.max(1, Math.round((s.weight * 100) / 256))))],
      ['cpu.max', `${s.cap === 0 ? 'max' : s.cap * (CAP_PERIOD_US / 100)} ${CAP_PERIOD_US}`],
    ];
  },
  reservation(version: 1 | 2, r: CpuReservation | undefined): CgroupFile[] {
    const scale = r === undefined ? 1 : Math.max(1, MIN_PERIOD_US / r.period, MIN_QUOTA_US / r.budget);
    const period = r === undefined ? CAP_PERIOD_US : Math.min(MAX_PERIOD_US, Math.round(r.period * scale));
    const quota = r === undefined || r.extratime ? undefined : Math.max(MIN_QUOTA_US, Math.round((r.budget * period) / r.period));
    return version === 1 ? bandwidth1(period, quota) : [['cpu.max', `${quota ?? 'max'} ${period}`]];
  },
} as const;

/**
 * v1's bandwidth as two files, written in an order the kernel accepts from any previous value:
 * the quota lifted, the period, then the quota.
 */
function bandwidth1(period: number, quota: number | undefined): CgroupFile[] {
  return [['cpu.cfs_quota_us', '-1'], ['cpu.cfs_period_us', String(period)], ['cpu.cfs_quota_us', String(quota ?? -1)]];
}

/** CPUs and NUMA memory nodes of a cpuset. */
export interface Cpuset {
  readonly cpus: readonly number[];
  readonly mems: readonly number[];
}

/** The kernel's list syntax (`0-3,6`). */
export function formatCgroupList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * One top group of the host's cgroups and the groups under it. Groups have the same relative
 * path in every hierarchy (v1: `cpu` and `cpuset`). Every operation is synchronous: a change
 * of several files is not interleaved with another one of this process. Failures are CGROUP
 * errors naming the file and the kernel's errno.
 *
 * cpusets: on v1 every group has its own `cpuset.cpus`/`mems`, which must stay within its
 * parent's, so a group made without a cpuset copies its parent's and `setCpuset` carries a
 * change down the subtree (shrinking bottom-up, growing top-down). On v2 a group without a
 * cpuset of its own inherits its parent's, and the controllers are enabled in each parent's
 * `cgroup.subtree_control`; a group of threads (`threaded`) is a threaded cgroup.
 */
export class CgroupTree {
  readonly mounts: CgroupMounts;
  /** The top group's directory name under each mount. */
  readonly name: string;

  constructor(mounts: CgroupMounts, name: string) {
    this.mounts = mounts;
    this.name = name;
  }

  /** The directory of group `path` ('' = the top group) in the hierarchy of `controller`. */
  dir(path: string, controller: 'cpu' | 'cpuset'): string {
    return join(this.mounts[controller], this.name, path);
  }

  /** Makes the top group if needed, its cpuset `cpuset`. */
  open(cpuset: Cpuset): void {
    if (this.mounts.version === 2) this.#enableControllers(this.mounts.cpu);
    this.#mkdirs('');
    this.#writeCpuset('', cpuset);
  }

  /** Whether group `path` exists. */
  exists(path: string): boolean {
    return existsSync(this.dir(path, 'cpuset'));
  }

  /**
   * Makes group `path` if needed (its parent exists) with cpuset `cpuset`, or its parent's when
   * undefined; `threaded`: it will hold some threads of a process whose other threads are in
   * an ancestor (v2 threaded mode).
   */
  make(path: string, options: { readonly cpuset?: Cpuset; readonly threaded?: boolean } = {}): void {
    const made = !this.exists(path);
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (this.mounts.version === 2) this.#enableControllers(this.dir(parent, 'cpu'));
    this.#mkdirs(path);
    if (this.mounts.version === 2) {
      if (made && options.threaded === true) this.#write(join(this.dir(path, 'cpu'), 'cgroup.type'), 'threaded');
      if (options.cpuset !== undefined) this.#writeCpuset(path, options.cpuset);
      return;
    }
    this.#writeCpuset(path, options.cpuset ?? this.cpuset(parent));
  }

  /** The cpuset group `path` has now (v2: what it asked for, empty when it inherits). */
  cpuset(path: string): Cpuset {
    const read = (f: string): number[] => parseCpuList(readFileSync(join(this.dir(path, 'cpuset'), f), 'utf8'));
    return { cpus: read('cpuset.cpus'), mems: read('cpuset.mems') };
  }

  /** Gives group `path` the cpuset `cpuset` (v1: and every group under it). */
  setCpuset(path: string, cpuset: Cpuset): void {
    if (this.mounts.version === 2) {
      this.#writeCpuset(path, cpuset);
      return;
    }
    const subtree = this.#subtree(path);
    const old = this.cpuset(path);
    const keep = (a: readonly number[], b: readonly number[]): number[] => a.filter((x) => b.includes(x));
    const narrowed = { cpus: keep(old.cpus, cpuset.cpus), mems: keep(old.mems, cpuset.mems) };
    // The kernel refuses an empty cpuset to a group with tasks; a pool that loses its last CPU has none.
    if (narrowed.cpus.length > 0 && narrowed.mems.length > 0) {
      for (const p of [...subtree].reverse()) this.#writeCpuset(p, narrowed);
    }
    for (const p of subtree) this.#writeCpuset(p, cpuset);
  }

  /** Writes `cpu` controller files of group `path`, in order. */
  setCpu(path: string, files: readonly CgroupFile[]): void {
    for (const [file, value] of files) this.#write(join(this.dir(path, 'cpu'), file), value);
  }

  /** Reads a file of group `path` (trimmed). */
  read(path: string, controller: 'cpu' | 'cpuset', file: string): string {
    return readFileSync(join(this.dir(path, controller), file), 'utf8').trim();
  }

  /** Moves every thread of process `pid` into group `path`. */
  moveProcess(path: string, pid: number): void {
    for (const c of this.#controllers()) this.#write(join(this.dir(path, c), 'cgroup.procs'), String(pid));
  }

  /** Moves thread `tid` into group `path` (a threaded group on v2). */
  moveThread(path: string, tid: number): void {
    const file = this.mounts.version === 1 ? 'tasks' : 'cgroup.threads';
    for (const c of this.#controllers()) this.#write(join(this.dir(path, c), file), String(tid));
  }

  /** The threads in group `path` itself (not its children), as the `cpuset` hierarchy lists them. */
  threads(path: string): number[] {
    const text = this.read(path, 'cpuset', this.mounts.version === 1 ? 'tasks' : 'cgroup.threads');
    return text === '' ? [] : text.split('\n').map(Number);
  }

  /** The names of the groups directly under group `path`. */
  children(path: string): string[] {
    try {
      return readdirSync(this.dir(path, 'cpuset'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch (e: unknown) {
      if (isErrno(e, 'ENOENT')) return [];
      throw cgroupError('read', this.dir(path, 'cpuset'), e);
    }
  }

  /**
   * Removes group `path` and every group under it, bottom-up, in every hierarchy. Resolves false
   * (what could go is gone) when one still holds a thread.
   */
  remove(path: string): boolean {
    let all = true;
    for (const c of this.#controllers()) {
      for (const p of [...this.#subtree(path, c)].reverse()) {
        try {
          rmdirSync(this.dir(p, c));
        } catch (e: unknown) {
          if (isErrno(e, 'ENOENT')) continue;
          if (isErrno(e, 'EBUSY') || isErrno(e, 'ENOTEMPTY')) {
            all = false;
            continue;
          }
          throw cgroupError('remove', this.dir(p, c), e);
        }
      }
    }
    return all;
  }

  #controllers(): Array<'cpu' | 'cpuset'> {
    return this.mounts.version === 1 ? ['cpu', 'cpuset'] : ['cpu'];
  }

  /** `path` and every group under it, parents first, in the hierarchy of `controller`. */
  #subtree(path: string, controller: 'cpu' | 'cpuset' = 'cpuset'): string[] {
    if (!existsSync(this.dir(path, controller))) return [];
    const out = [path];
    let names: string[];
    try {
      names = readdirSync(this.dir(path, controller), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e: unknown) {
      throw cgroupError('read', this.dir(path, controller), e);
    }
    for (const n of names.sort()) out.push(...this.#subtree(path === '' ? n : `${path}/${n}`, controller));
    return out;
  }

  #mkdirs(path: string): void {
    for (const c of this.#controllers()) {
      const dir = this.dir(path, c);
      try {
        mkdirSync(dir);
      } catch (e: unknown) {
        if (!isErrno(e, 'EEXIST')) throw cgroupError('make', dir, e);
      }
    }
  }

  #enableControllers(dir: string): void {
    this.#write(join(dir, 'cgroup.subtree_control'), '+cpu +cpuset');
  }

  #writeCpuset(path: string, cpuset: Cpuset): void {
    const dir = this.dir(path, 'cpuset');
    this.#write(join(dir, 'cpuset.cpus'), formatCgroupList(cpuset.cpus));
    this.#write(join(dir, 'cpuset.mems'), formatCgroupList(cpuset.mems));
  }

  #write(file: string, value: string): void {
    try {
      writeFileSync(file, value);
    } catch (e: unknown) {
      throw cgroupError('write', file, e, value);
    }
  }
}

function cgroupError(what: 'make' | 'write' | 'read' | 'remove', path: string, e: unknown, value?: string): ToolstackError {
  const code = isErrno(e) ? (e.code ?? 'error') : 'error';
  const action = what === 'write' ? `write "${value ?? ''}" to` : `${what} cgroup`;
  return new ToolstackError('CGROUP', `Cannot ${action} ${path}: ${code}`, {
    cause: e,
    hint: code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'dom0d needs to write the host\'s cpu and cpuset cgroups (run it as root, with /sys/fs/cgroup writable)'
      : 'the kernel refused it: see the cgroup documentation of that file (Documentation/admin-guide/cgroup-v1, cgroup-v2.rst)',
  });
}
