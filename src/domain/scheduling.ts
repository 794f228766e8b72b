/**
 * Scheduling of domains: CPU pools (`cpupools.ts`), each domain's scheduler parameters
 * (`sched.ts`), and where both land on the host, its cgroups (`sched-cgroups.ts`). A domain's
 * pool and parameters are its record's `sched`; the pools are their own table.
 *
 * Order of every change: Xen's checks (libxl's lines on failure, nothing changed), the cgroups,
 * then the record or the pool table on disk; a failure to persist puts the cgroups back. Pool
 * changes, and domain moves between pools, run one at a time (`CpuPools.exclusive`).
 *
 * Without usable cgroups (`SchedCgroups.open` failed), a domain in Pool-0 with the default
 * parameters is made as usual; anything that needs a pool or a parameter applied fails with
 * the reason.
 */
import { ToolstackError } from '../common/index.js';
import { domainVcpus } from '../config/index.js';
import { CpuPools, findPool, freeCpus, nodesOf, planAddCpus, planCreate, planDestroy, planNumaSplit, planParams, planRemoveCpus, planRename } from './cpupools.js';
import type { CpuPool, PoolHost } from './cpupools.js';
import type { DomainDriver } from './driver.js';
import type { DomainRecord, NewDomain } from './record.js';
import type { DomainRegistry } from './registry.js';
import {
  checkPoolParams, checkReservation, checkReservations, checkShare, DEFAULT_CAP, DEFAULT_RESERVATION, DEFAULT_WEIGHT, defaultSched, isDefaultSched, libxlError, schedError,
} from './sched.js';
import type { DomainSched, PoolSchedParams, VcpuReservation } from './sched.js';
import type { CpuReservation } from '../host/index.js';
import type { SchedCgroups } from './sched-cgroups.js';
import { domainPath } from './sched-cgroups.js';
import type { DomainAction } from './state.js';

export interface SchedulingOptions {
  /** The host's CPUs and the scheduler Pool-0 runs (xl.conf `sched=`, as Xen's boot option). */
  readonly host: PoolHost;
  /** Where the pool table persists (`STATE_DIR/cpupools.json`); absent: in memory only. */
  readonly poolsFile?: string;
  /** The host's cgroups, or why they cannot be used. */
  readonly cgroups: SchedCgroups | ToolstackError;
}

/** What scheduling needs of the domain manager. */
export interface SchedulingDeps {
  readonly registry: DomainRegistry;
  readonly driver: DomainDriver;
  /** Runs `body` as the domain's job, its state checked for `action`. */
  job<T>(domid: number, action: DomainAction, body: (rec: DomainRecord) => Promise<T>): Promise<T>;
  readonly log: (line: string) => void;
}

/** What a CPU change of a pool did: the pool after, libxl's line for each CPU refused. */
export interface PoolCpuChange {
  readonly pool: CpuPool;
  readonly errors: readonly string[];
}

export class DomainScheduling {
  readonly pools: CpuPools;
  readonly #cgroups: SchedCgroups | ToolstackError;
  readonly #d: SchedulingDeps;

  private constructor(pools: CpuPools, cgroups: SchedCgroups | ToolstackError, deps: SchedulingDeps) {
    this.pools = pools;
    this.#cgroups = cgroups;
    this.#d = deps;
  }

  /**
   * Loads the pools. Pool-0 runs the host's scheduler (`sched=`) when it holds no domain; one
   * that does keeps its scheduler until it is empty at a dom0d start, as Xen's pools keep theirs
   * until a reboot. Then every pool's group is made or set right (domains are placed as they are
   * adopted; `prune` removes the rest).
   */
  static async open(options: SchedulingOptions, deps: SchedulingDeps): Promise<DomainScheduling> {
    const pools = await CpuPools.open(options.host, options.poolsFile, deps.log);
    const s = new DomainScheduling(pools, options.cgroups, deps);
    const pool0 = pools.get(0) as CpuPool;
    if (pool0.sched !== options.host.scheduler) {
      if (s.domainsIn(0) > 1) {
        deps.log(`Pool-0 keeps its scheduler ${pool0.sched} while domains run in it: sched=${options.host.scheduler} applies once it is empty at a dom0d start`);
      } else {
        await pools.replace(pools.list().map((p) => (p.poolid === 0 ? { ...p, sched: options.host.scheduler } : p)));
        deps.log(`Pool-0 now runs ${options.host.scheduler} (sched=)`);
      }
    }
    if (!(s.#cgroups instanceof ToolstackError)) for (const p of pools.list()) s.#syncPool(s.#cgroups, p);
    else deps.log(`CPU pools and scheduler parameters are not applied: ${s.#cgroups.message}`);
    return s;
  }

  /** The domains in pool `poolid` (Domain-0, the host, in Pool-0), as Xen's `n_dom` counts them. */
  domainsIn(poolid: number): number {
    return this.#d.registry.list().filter((r) => r.sched.pool === poolid).length + (poolid === 0 ? 1 : 0);
  }

  /**
   * Where a new domain goes and with what: a restart's own (`init.sched`) while its pool still
   * has CPUs, else libxl's `pool_name` (a pool's name or poolid) or `poolid` of the config, with
   * its `sched_params` (checked by `checkNew` once the domain has a domid).
   */
  schedFor(init: NewDomain): DomainSched {
    const max = domainVcpus(init.config).max;
    const carried = init.sched;
    if (carried !== undefined && (this.pools.get(carried.pool)?.cpus.length ?? 0) > 0) {
      return { ...carried, vcpus: Array.from({ length: max }, (_, i) => carried.vcpus[i] ?? DEFAULT_RESERVATION) };
    }
    const c = init.config.c_info ?? {};
    const pool = c.pool_name !== undefined ? findPool(this.pools.list(), c.pool_name) : this.pools.get(c.poolid ?? 0);
    if (pool === undefined) {
      const line = libxlError('libxl_create.c:1132:libxl__domain_config_setdefault', undefined, `Illegal pool specified: ${c.pool_name ?? String(c.poolid)}`);
      throw new ToolstackError('CPUPOOL', line, { lines: [line], hint: `pool= names a CPU pool by name or poolid (xl cpupool-list): ${this.pools.list().map((p) => p.name).join(', ')}` });
    }
    if (pool.cpus.length === 0) {
      const lines = [
        libxlError('libxl_create.c:709:libxl__domain_make', undefined, 'domain creation fail: No such device'),
        libxlError('libxl_create.c:1294:initiate_domain_create', undefined, 'cannot make domain: -3'),
      ];
      throw new ToolstackError('CPUPOOL', lines[0] as string, { lines, hint: `cpupool '${pool.name}' has no CPUs: give it one first (xl cpupool-cpu-add ${pool.name} CPU)` });
    }
    const sp = init.config.b_info?.sched_params ?? {};
    const given = (v: number | undefined, d: number): number => (v === undefined || v === -1 ? d : v);
    const r: CpuReservation = { period: given(sp.period, DEFAULT_RESERVATION.period), budget: given(sp.budget, DEFAULT_RESERVATION.budget), extratime: true };
    return { pool: pool.poolid, weight: given(sp.weight, DEFAULT_WEIGHT), cap: given(sp.cap, DEFAULT_CAP), vcpus: Array.from({ length: max }, () => r) };
  }

  /**
   * libxl's `libxl_domain_sched_params_set` of a new domain (`libxl__build_pre`): its parameters
   * must suit its pool's scheduler, else its build fails with libxl's lines.
   */
  checkNew(rec: DomainRecord): void {
    const pool = this.pools.get(rec.sched.pool) as CpuPool;
    const s = rec.sched;
    let lines: string[] = [];
    if (pool.sched === 'credit' || pool.sched === 'credit2') {
      const r = checkShare(rec.domid, pool.sched, pool.sched, s.vcpus.length, { weight: DEFAULT_WEIGHT, cap: DEFAULT_CAP }, s);
      if ('lines' in r) lines = r.lines;
    } else if (pool.sched === 'rtds') {
      lines = checkReservation(s.vcpus[0]?.period ?? DEFAULT_RESERVATION.period, s.vcpus[0]?.budget ?? DEFAULT_RESERVATION.budget);
    }
    if (lines.length === 0) return;
    throw schedError([...lines, libxlError('libxl_create.c:1638:domcreate_rebuild_done', rec.domid, 'cannot (re-)build domain: -6')],
      `the config's cpu_weight (1-65535), cap (0-${s.vcpus.length * 100}) or period must suit pool '${pool.name}' (${pool.sched})`);
  }

  /**
   * Puts a domain's machine in its pool's cgroups with its parameters (a new machine, or one
   * re-adopted). Without cgroups, only a domain that asks for nothing (Pool-0, defaults) goes on.
   */
  async place(rec: DomainRecord): Promise<void> {
    const cgroups = this.#cgroups;
    if (cgroups instanceof ToolstackError) {
      if (isDefaultSched(rec.sched)) return;
      throw cgroups;
    }
    const threads = await this.#d.driver.machineThreads?.(rec);
    if (threads === undefined) return;
    await this.pools.exclusive(async () => {
      const pool = this.pools.get(rec.sched.pool) as CpuPool;
      this.#syncPool(cgroups, pool);
      cgroups.place(rec.domid, rec.sched, pool.sched, threads);
    });
  }

  /**
   * A domain is gone: its groups go. A killed QEMU may still be exiting (freeing a large guest's
   * memory), its threads leaving the groups last: they are tried again each second for 30 s
   * (unless the domid is in use again), then logged and left to the next start's prune.
   */
  removeDomain(rec: DomainRecord, attempt = 0): void {
    if (this.#cgroups instanceof ToolstackError) return;
    try {
      if (this.#cgroups.removeDomain(rec.domid)) return;
      if (attempt < 30) {
        setTimeout(() => {
          if (this.#d.registry.get(rec.domid) === undefined) this.removeDomain(rec, attempt + 1);
        }, 1000).unref();
        return;
      }
      this.#d.log(`domain ${rec.domid}: its cgroup still holds threads: left in place`);
    } catch (e: unknown) {
      this.#d.log(`domain ${rec.domid}: removing its cgroups: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Removes the groups no pool or domain explains (after re-adoption). */
  prune(): void {
    if (this.#cgroups instanceof ToolstackError) return;
    this.#cgroups.prune(new Set(this.pools.list().map((p) => p.poolid)), new Set(this.#d.registry.list().map((r) => r.domid)));
  }

  /** dom0d stops: every group that holds no thread goes (its running domains keep theirs). */
  close(): void {
    if (!(this.#cgroups instanceof ToolstackError)) this.#cgroups.close();
  }

  /**
   * `xl sched-credit` / `sched-credit2 -d D -w W -c C`: libxl's checks against the domain's pool,
   * then its cgroup; the record keeps them (a reboot too).
   */
  setShare(domid: number, asked: 'credit' | 'credit2', change: { readonly weight?: number; readonly cap?: number }): Promise<DomainRecord> {
    return this.#d.job(domid, 'sched', async (rec) => {
      const pool = this.pools.get(rec.sched.pool) as CpuPool;
      const r = checkShare(domid, asked, pool.sched, rec.sched.vcpus.length, rec.sched, change);
      if ('lines' in r) throw schedError([...r.lines, 'libxl_domain_sched_params_set failed.'], shareHint(pool, asked));
      return this.#update(rec, { ...rec.sched, weight: r.weight, cap: r.cap });
    });
  }

  /** `xl sched-rtds -d D -v N|all -p -b -e`: each vCPU's reservation (its own cgroup). */
  setReservations(domid: number, change: { readonly vcpus: readonly VcpuReservation[] } | { readonly all: CpuReservation }): Promise<DomainRecord> {
    return this.#d.job(domid, 'sched', async (rec) => {
      const pool = this.pools.get(rec.sched.pool) as CpuPool;
      const r = checkReservations(domid, pool.sched, rec.sched.vcpus, change);
      if ('lines' in r) {
        const xl = 'all' in change ? 'libxl_vcpu_sched_params_set_all failed.' : 'libxl_vcpu_sched_params_set failed.';
        throw schedError([...r.lines, xl], pool.sched === 'rtds'
          ? `a vCPU is 0-${rec.sched.vcpus.length - 1}; its period and budget are microseconds, 10 <= budget <= period`
          : `domain ${rec.name} is in pool '${pool.name}', which runs ${pool.sched}: per-vCPU parameters are rtds's (xl cpupool-migrate it to an rtds pool)`);
      }
      return this.#update(rec, { ...rec.sched, vcpus: r.vcpus });
    });
  }

  /** `xl sched-credit -s -t -r -m` / `sched-credit2 -s -r`: the pool's scheduler-wide parameters (kept; cgroups have none). */
  setPoolParams(qualifier: string, asked: 'credit' | 'credit2', change: Partial<PoolSchedParams>): Promise<CpuPool> {
    return this.pools.exclusive(async () => {
      const pool = this.pools.resolve(qualifier);
      const r = checkPoolParams(asked, pool.sched, pool.params, change);
      if ('lines' in r) throw schedError(r.lines, shareHint(pool, asked));
      await this.pools.replace(planParams(this.pools.list(), pool, r.params));
      return this.pools.get(pool.poolid) as CpuPool;
    });
  }

  /**
   * `xl cpupool-migrate D POOL`: the domain moves, threads and all, into the pool's cgroups with
   * the defaults of its scheduler (Xen resets them too). A pool without CPUs takes no domain.
   */
  migrate(domid: number, qualifier: string): Promise<DomainRecord> {
    return this.#d.job(domid, 'sched', () => this.pools.exclusive(async () => {
      const rec = this.#d.registry.require(domid);
      const pool = this.pools.resolve(qualifier);
      if (pool.poolid === rec.sched.pool) return rec;
      if (pool.cpus.length === 0) {
        throw schedError([libxlError('libxl_cpupool.c:437:libxl_cpupool_movedomain', domid, 'Error moving domain to cpupool')],
          `cpupool '${pool.name}' has no CPUs: give it one first (xl cpupool-cpu-add ${pool.name} CPU)`, 'CPUPOOL');
      }
      const cgroups = this.#require();
      const next = defaultSched(pool.poolid, rec.sched.vcpus.length);
      const threads = await this.#d.driver.machineThreads?.(rec);
      this.#syncPool(cgroups, pool);
      if (threads !== undefined) cgroups.place(domid, next, pool.sched, threads);
      try {
        return await this.#d.registry.update(domid, { sched: next });
      } catch (e: unknown) {
        if (threads !== undefined) cgroups.place(domid, rec.sched, (this.pools.get(rec.sched.pool) as CpuPool).sched, threads);
        throw e;
      }
    }));
  }

  /** `xl cpupool-create`: a new pool (Xen's checks: free CPUs, a known scheduler, the pool limit). */
  createPool(o: { readonly name: string; readonly sched: string; readonly cpus: readonly number[] }): Promise<CpuPool> {
    return this.pools.exclusive(async () => {
      const next = planCreate(this.pools.list(), this.pools.host, o);
      const cgroups = this.#require();
      const made = next[next.length - 1] as CpuPool;
      this.#syncPool(cgroups, made);
      try {
        await this.pools.replace(next);
      } catch (e: unknown) {
        cgroups.removePool(made.poolid);
        throw e;
      }
      return made;
    });
  }

  /** `xl cpupool-destroy`: a pool without domains; its CPUs become free. */
  destroyPool(qualifier: string): Promise<CpuPool> {
    return this.pools.exclusive(async () => {
      const pool = this.pools.resolve(qualifier);
      const next = planDestroy(this.pools.list(), pool, this.domainsIn(pool.poolid));
      const cgroups = this.#require();
      await this.pools.replace(next);
      cgroups.removePool(pool.poolid);
      return pool;
    });
  }

  /** `xl cpupool-rename`. */
  renamePool(qualifier: string, name: string): Promise<CpuPool> {
    return this.pools.exclusive(async () => {
      const pool = this.pools.resolve(qualifier);
      this.#require();
      await this.pools.replace(planRename(this.pools.list(), pool, name));
      return this.pools.get(pool.poolid) as CpuPool;
    });
  }

  /** `xl cpupool-cpu-add`: each free CPU joins; the pool's cpuset (and its domains') follows. */
  addCpus(qualifier: string, cpus: readonly number[]): Promise<PoolCpuChange> {
    return this.pools.exclusive(async () => {
      const pool = this.pools.resolve(qualifier);
      return this.#changeCpus(pool, planAddCpus(this.pools.list(), this.pools.host, pool, cpus));
    });
  }

  /** `xl cpupool-cpu-remove`: each CPU of the pool leaves it (and is free), Xen's rules permitting. */
  removeCpus(qualifier: string, cpus: readonly number[]): Promise<PoolCpuChange> {
    return this.pools.exclusive(async () => {
      const pool = this.pools.resolve(qualifier);
      return this.#changeCpus(pool, planRemoveCpus(this.pools.list(), this.pools.host, pool, cpus, this.domainsIn(pool.poolid)));
    });
  }

  /** `xl cpupool-numa-split`: one pool per NUMA node (only Pool-0 may exist). */
  numaSplit(): Promise<readonly CpuPool[]> {
    return this.pools.exclusive(async () => {
      const before = this.pools.list();
      const next = planNumaSplit(before, this.pools.host);
      const cgroups = this.#require();
      // Pool-0 gives up its other nodes' CPUs before the new pools take them.
      for (const p of next) this.#syncPool(cgroups, p);
      try {
        await this.pools.replace(next);
      } catch (e: unknown) {
        for (const p of next) if (p.poolid !== 0) cgroups.removePool(p.poolid);
        this.#syncPool(cgroups, before[0] as CpuPool);
        throw e;
      }
      return this.pools.list();
    });
  }

  /** The CPUs no pool has. */
  freeCpus(): number[] {
    return freeCpus(this.pools.list(), this.pools.host);
  }

  async #changeCpus(pool: CpuPool, change: { readonly pools: readonly CpuPool[]; readonly errors: readonly string[] }): Promise<PoolCpuChange> {
    const after = change.pools.find((p) => p.poolid === pool.poolid) as CpuPool;
    if (after.cpus.join() !== pool.cpus.join()) {
      const cgroups = this.#require();
      this.#syncPool(cgroups, after);
      try {
        await this.pools.replace(change.pools);
      } catch (e: unknown) {
        this.#syncPool(cgroups, pool);
        throw e;
      }
    }
    return { pool: after, errors: change.errors };
  }

  /** Applies `next` (the domain's pool unchanged) to its cgroup, then the record; undone when the record cannot be written. */
  async #update(rec: DomainRecord, next: DomainSched): Promise<DomainRecord> {
    const cgroups = this.#require();
    const pool = this.pools.get(rec.sched.pool) as CpuPool;
    const placed = cgroups.tree.exists(domainPath(rec.sched.pool, rec.domid));
    if (placed) cgroups.apply(rec.domid, next, pool.sched);
    try {
      return await this.#d.registry.update(rec.domid, { sched: next });
    } catch (e: unknown) {
      if (placed) cgroups.apply(rec.domid, rec.sched, pool.sched);
      throw e;
    }
  }

  #syncPool(cgroups: SchedCgroups, pool: CpuPool): void {
    const host = this.pools.host;
    cgroups.syncPool(pool, { cpus: pool.cpus, mems: pool.cpus.length === 0 ? [] : nodesOf(pool.cpus, host) });
  }

  #require(): SchedCgroups {
    if (this.#cgroups instanceof ToolstackError) throw this.#cgroups;
    return this.#cgroups;
  }
}

function shareHint(pool: CpuPool, asked: string): string {
  return pool.sched === asked
    ? 'weight is 1-65535, cap 0 (none) to 100 per vCPU; tslice 1-1000 ms, ratelimit 0 or 100-500000 us (at most the tslice)'
    : `pool '${pool.name}' runs ${pool.sched}, not ${asked}: use xl sched-${pool.sched === 'null' ? 'credit2' : pool.sched}, or a pool that runs ${asked}`;
}
