/**
 * dom0's groups in the host's cgroups (`host/cgroups.ts`: the mechanics, and the one table of
 * what Xen's parameters become):
 *
 * ```
 *   <mount>/dom0-<instance>/          dom0d's own: every CPU of the host
 *     pool<poolid>/                   a CPU pool: cpuset = its CPUs (and their nodes)
 *       dom<domid>/                   a domain: its QEMU process, every thread but the vCPUs'; weight, cap
 *         vcpu<n>/                    vCPU n's thread; its RTDS reservation
 * ```
 * The instance is a hash of `RUN_DIR`, so dom0ds of different run directories never share a
 * group. A domain's groups go with it; a pool's with the pool. Groups outlive dom0d (its
 * domains run on): at start-up it adds what is missing and removes what no pool or live domain
 * explains; at stop it removes what holds no thread.
 */
import { createHash } from 'node:crypto';
import { ToolstackError } from '../common/index.js';
import { CgroupTree, findCpuCgroups, SCHED_CGROUP_MAP } from '../host/index.js';
import type { CgroupMounts, CpuReservation, Cpuset } from '../host/index.js';
import type { CpuPool } from './cpupools.js';
import type { MachineThreads } from './driver.js';
import type { DomainSched, PoolScheduler } from './sched.js';

export class SchedCgroups {
  readonly tree: CgroupTree;

  private constructor(tree: CgroupTree) {
    this.tree = tree;
  }

  /**
   * dom0's top group for `runDir` on the host's cgroups (`mounts`: found when not given), made
   * with every CPU and node of the host; a CGROUP error when the host has none or refuses.
   */
  static open(runDir: string, host: Cpuset, mounts: CgroupMounts | undefined = findCpuCgroups()): SchedCgroups {
    if (mounts === undefined) {
      throw new ToolstackError('CGROUP', 'This host has no cpu and cpuset cgroup controllers', {
        hint: 'mount cgroup v2 with the cpu and cpuset controllers enabled, or cgroup v1 cpu and cpuset hierarchies',
      });
    }
    const tree = new CgroupTree(mounts, dom0CgroupName(runDir));
    tree.open(host);
    return new SchedCgroups(tree);
  }

  /** Makes pool `pool`'s group, or gives it (and what is under it) the pool's CPUs now. */
  syncPool(pool: CpuPool, cpuset: Cpuset): void {
    const path = poolPath(pool.poolid);
    if (this.tree.exists(path)) this.tree.setCpuset(path, cpuset);
    else this.tree.make(path, { cpuset });
  }

  /** Removes pool `poolid`'s group (it has no domains). */
  removePool(poolid: number): void {
    this.tree.remove(poolPath(poolid));
  }

  /**
   * Puts domain `domid`'s QEMU in its pool's group (made and given the pool's cpuset first by
   * `syncPool`): the process in `dom<domid>`, each vCPU thread in `vcpu<n>`, with the parameters
   * of the pool's scheduler `sched`. Its groups in another pool go.
   */
  place(domid: number, sched: DomainSched, poolSched: PoolScheduler, threads: MachineThreads): void {
    const dom = domainPath(sched.pool, domid);
    this.tree.make(dom);
    for (const v of threads.vcpus) this.tree.make(`${dom}/vcpu${v.vcpu}`, { threaded: true });
    this.apply(domid, sched, poolSched);
    this.tree.moveProcess(dom, threads.pid);
    for (const v of threads.vcpus) this.tree.moveThread(`${dom}/vcpu${v.vcpu}`, v.tid);
    for (const other of this.#domainGroups(domid)) if (other !== dom) this.tree.remove(other);
  }

  /** Writes the parameters of `sched` for a pool running `poolSched` to the domain's groups. */
  apply(domid: number, sched: DomainSched, poolSched: PoolScheduler): void {
    const v = this.tree.mounts.version;
    const dom = domainPath(sched.pool, domid);
    const credit = poolSched === 'credit' || poolSched === 'credit2';
    this.tree.setCpu(dom, SCHED_CGROUP_MAP.share(v, credit ? sched : { weight: 256, cap: 0 }));
    for (const name of this.tree.children(dom)) {
      const n = /^vcpu(\d+)$/.exec(name);
      if (n === null) continue;
      const r: CpuReservation | undefined = poolSched === 'rtds' ? sched.vcpus[Number(n[1])] : undefined;
      this.tree.setCpu(`${dom}/${name}`, SCHED_CGROUP_MAP.reservation(v, r));
    }
  }

  /** Removes domain `domid`'s groups (its QEMU is gone); false when a thread still holds one. */
  removeDomain(domid: number): boolean {
    return this.#domainGroups(domid).every((g) => this.tree.remove(g));
  }

  /** Removes the groups of pools not in `pools` and of domains not in `domids`. */
  prune(pools: ReadonlySet<number>, domids: ReadonlySet<number>): void {
    for (const p of this.tree.children('')) {
      for (const d of this.tree.children(p)) {
        const dm = /^dom(\d+)$/.exec(d);
        if (dm === null || !domids.has(Number(dm[1]))) this.tree.remove(`${p}/${d}`);
      }
      const m = /^pool(\d+)$/.exec(p);
      if (m === null || !pools.has(Number(m[1]))) this.tree.remove(p);
    }
  }

  /** Removes every group that holds no thread, the top one too when all go (dom0d stopping). */
  close(): void {
    this.tree.remove('');
  }

  /** The groups of domain `domid` (one, but a move interrupted may have left two). */
  #domainGroups(domid: number): string[] {
    return this.tree.children('').flatMap((p) => (this.tree.children(p).includes(`dom${domid}`) ? [`${p}/dom${domid}`] : []));
  }
}

/** The name of the top group of the dom0d serving `runDir`. */
export function dom0CgroupName(runDir: string): string {
  return `dom0-${createHash('sha256').update(runDir).digest('hex').slice(0, 8)}`;
}

function poolPath(poolid: number): string {
  return `pool${poolid}`;
}

/** Domain `domid`'s group in pool `poolid`. */
export function domainPath(poolid: number, domid: number): string {
  return `${poolPath(poolid)}/dom${domid}`;
}
