/**
 * Xen's CPU pools: disjoint sets of the host's CPUs, each with its own scheduler, every domain in
 * exactly one. `Pool-0` (poolid 0) starts with every CPU and runs the host's default scheduler;
 * the table persists as `STATE_DIR/cpupools.json` across dom0d restarts.
 *
 * The `plan*` functions are Xen's rules (libxl_cpupool.c and the hypervisor's cpupool.c): each
 * takes the table as it is and returns the table after the change, or throws with libxl's lines;
 * `CpuPools.replace` makes a planned table the pools' (on disk, then in memory). Domains enter
 * the rules as counts (`domains`: a pool's domains, Domain-0 counted in Pool-0).
 */
import { readFile, rename } from 'node:fs/promises';
import { isErrno, strerror, terminalSafe, ToolstackError } from '../common/index.js';
import { fileError, KeyedQueue, writeFileAtomic } from '../host/index.js';
import { DEFAULT_POOL_PARAMS, libxlError, POOL_SCHEDULERS } from './sched.js';
import type { PoolScheduler, PoolSchedParams } from './sched.js';

export interface CpuPool {
  readonly poolid: number;
  readonly name: string;
  readonly sched: PoolScheduler;
  /** Its CPUs, ascending. */
  readonly cpus: readonly number[];
  readonly uuid: string;
  /** The scheduler-wide parameters (`xl sched-credit -s`, `sched-credit2 -s`). */
  readonly params: PoolSchedParams;
}

/** A CPU of the host and its NUMA node. */
export interface HostCpu {
  readonly cpu: number;
  readonly node: number;
}

/** The host the rules apply to: its online CPUs (ascending) and the scheduler `Pool-0` gets. */
export interface PoolHost {
  readonly cpus: readonly HostCpu[];
  readonly scheduler: PoolScheduler;
}

const FILE_VERSION = 1;

/** The CPUs of the host that no pool has. */
export function freeCpus(pools: readonly CpuPool[], host: PoolHost): number[] {
  const used = new Set(pools.flatMap((p) => p.cpus));
  return host.cpus.map((c) => c.cpu).filter((c) => !used.has(c));
}

/** The NUMA nodes of `cpus` (a cpuset's `mems`). */
export function nodesOf(cpus: readonly number[], host: PoolHost): number[] {
  return [...new Set(host.cpus.filter((c) => cpus.includes(c.cpu)).map((c) => c.node))].sort((a, b) => a - b);
}

/**
 * libxl's `libxl_cpupool_qualifier_to_cpupoolid`: all decimal digits is a poolid, anything else
 * a name (the first pool of that name); then `libxl_cpupoolid_is_valid`.
 */
export function findPool(pools: readonly CpuPool[], qualifier: string): CpuPool | undefined {
  if (/^\d+$/.test(qualifier)) return pools.find((p) => p.poolid === Number(qualifier));
  return pools.find((p) => p.name === qualifier);
}

/** xl's `unknown cpupool 'X'` (every command but cpupool-list's, which has its own line). */
export function unknownPool(qualifier: string): ToolstackError {
  return new ToolstackError('CPUPOOL', `unknown cpupool '${qualifier}'`, {
    lines: [`unknown cpupool '${qualifier}'`],
    hint: 'xl cpupool-list shows the pools (a pool is named by its name or its poolid)',
  });
}

function cpupoolError(line: number, func: string, text: string, hint: string): ToolstackError {
  return new ToolstackError('CPUPOOL', text, { lines: [libxlError(`libxl_cpupool.c:${line}:${func}`, undefined, text)], hint });
}

/**
 * `libxl_cpupool_create`: a new pool (the highest poolid + 1) with `cpus`, which must be free. Xen
 * has at most two pools per CPU of the host, and only the schedulers of `POOL_SCHEDULERS`.
 */
export function planCreate(pools: readonly CpuPool[], host: PoolHost, o: { readonly name: string; readonly sched: string; readonly cpus: readonly number[] }): CpuPool[] {
  if (!(POOL_SCHEDULERS as readonly string[]).includes(o.sched) || pools.length >= 2 * host.cpus.length) {
    throw cpupoolError(157, 'libxl_cpupool_create', 'Could not create cpupool', (POOL_SCHEDULERS as readonly string[]).includes(o.sched)
      ? `Xen allows ${2 * host.cpus.length} pools on a host of ${host.cpus.length} CPUs: destroy one first (xl cpupool-destroy)`
      : `the pools' schedulers are ${POOL_SCHEDULERS.join(', ')}`);
  }
  checkPoolName(o.name);
  const free = freeCpus(pools, host);
  if (o.cpus.some((c) => !free.includes(c))) {
    throw cpupoolError(167, 'libxl_cpupool_create', 'Error moving cpu to cpupool', `CPUs free now: ${free.join(',') || 'none'} (xl cpupool-cpu-remove frees one)`);
  }
  const poolid = Math.max(...pools.map((p) => p.poolid)) + 1;
  const sched = o.sched as PoolScheduler;
  return [...pools, { poolid, name: o.name, sched, cpus: [...new Set(o.cpus)].sort((a, b) => a - b), uuid: globalThis.crypto.randomUUID(), params: DEFAULT_POOL_PARAMS }];
}

/** `libxl_cpupool_destroy`: only a pool without domains (Pool-0 always has Domain-0); its CPUs become free. */
export function planDestroy(pools: readonly CpuPool[], pool: CpuPool, domains: number): CpuPool[] {
  if (domains > 0) {
    throw new ToolstackError('CPUPOOL', `Cannot destroy cpupool '${pool.name}': ${domains} domain(s) are in it`, {
      lines: [],
      hint: pool.poolid === 0 ? 'Pool-0 holds Domain-0: it is never destroyed' : `move them out first (xl cpupool-migrate DOMAIN POOL) or destroy them`,
    });
  }
  return pools.filter((p) => p.poolid !== pool.poolid);
}

/** `libxl_cpupool_rename`: any pool, any name (libxl checks neither). */
export function planRename(pools: readonly CpuPool[], pool: CpuPool, name: string): CpuPool[] {
  checkPoolName(name);
  return pools.map((p) => (p.poolid === pool.poolid ? { ...p, name } : p));
}

/**
 * A new pool name: Xen takes any, but it shows in every `xl cpupool-list` and `xl list -c` row, so
 * not an empty one, one with a control, text-direction or invisible character (it could rewrite the rows
 * around it), or one over 255 bytes.
 */
function checkPoolName(name: string): void {
  const why = name === '' ? 'it is empty'
    : terminalSafe(name) !== name ? 'it contains a control, text-direction or invisible character'
      : Buffer.byteLength(name) > 255 ? `it is ${Buffer.byteLength(name)} bytes long` : undefined;
  if (why !== undefined) {
    throw new ToolstackError('CFG_VALUE', `Invalid cpupool name '${terminalSafe(name.length > 40 ? `${name.slice(0, 40)}...` : name)}': ${why}`, {
      hint: 'a pool name is 1 to 255 bytes of text without control, text-direction or invisible characters',
    });
  }
}

/** The pools with `cpus` moved into or out of `pool`, and the errno of each CPU Xen refused. */
export interface CpuChange {
  readonly pools: CpuPool[];
  /** libxl's line for each CPU that was refused. */
  readonly errors: string[];
}

/**
 * `libxl_cpupool_cpuadd_cpumap`, one CPU at a time: a CPU must be one of the host's (EINVAL
 * beyond the host, ENODEV offline) and free (ENODEV).
 */
export function planAddCpus(pools: readonly CpuPool[], host: PoolHost, pool: CpuPool, cpus: readonly number[]): CpuChange {
  const free = new Set(freeCpus(pools, host));
  const maxId = Math.max(...host.cpus.map((c) => c.cpu));
  const errors: string[] = [];
  const added: number[] = [];
  for (const cpu of cpus) {
    const errno = cpu > maxId ? 'EINVAL' : free.has(cpu) ? undefined : 'ENODEV';
    if (errno === undefined) {
      added.push(cpu);
      free.delete(cpu);
    } else {
      errors.push(libxlError('libxl_cpupool.c:302:libxl_cpupool_cpuadd', undefined, `Error moving cpu ${cpu} to cpupool: ${strerror(errno)}`));
    }
  }
  return { pools: withCpus(pools, pool.poolid, [...pool.cpus, ...added]), errors };
}

/**
 * `libxl_cpupool_cpuremove_cpumap`, one CPU at a time: CPU 0 stays in Pool-0 and a CPU beyond
 * the host does not exist (EINVAL), a CPU must be in the pool (EADDRNOTAVAIL), and a pool with
 * domains keeps its last CPU (EBUSY).
 */
export function planRemoveCpus(pools: readonly CpuPool[], host: PoolHost, pool: CpuPool, cpus: readonly number[], domains: number): CpuChange {
  const maxId = Math.max(...host.cpus.map((c) => c.cpu));
  const left = new Set(pool.cpus);
  const errors: string[] = [];
  for (const cpu of cpus) {
    const errno = (pool.poolid === 0 && cpu === 0) || cpu > maxId ? 'EINVAL'
      : !left.has(cpu) ? 'EADDRNOTAVAIL'
        : domains > 0 && left.size === 1 ? 'EBUSY' : undefined;
    if (errno === undefined) left.delete(cpu);
    else errors.push(libxlError('libxl_cpupool.c:365:libxl_cpupool_cpuremove', undefined, `Error removing cpu ${cpu} from cpupool: ${strerror(errno)}`));
  }
  return { pools: withCpus(pools, pool.poolid, [...left]), errors };
}

/** A pool's scheduler-wide parameters changed. */
export function planParams(pools: readonly CpuPool[], pool: CpuPool, params: PoolSchedParams): CpuPool[] {
  return pools.map((p) => (p.poolid === pool.poolid ? { ...p, params } : p));
}

/**
 * xl's `cpupool-numa-split` (only Pool-0 may exist): Pool-0 keeps the first CPU's node (and takes
 * that node's free CPUs) as `Pool-node<N>`; every other node becomes a pool `Pool-node<N>` of
 * Pool-0's scheduler with that node's CPUs.
 */
export function planNumaSplit(pools: readonly CpuPool[], host: PoolHost): CpuPool[] {
  if (pools.length > 1) {
    throw new ToolstackError('CPUPOOL', 'splitting not possible, already cpupools in use', {
      lines: ['splitting not possible, already cpupools in use'],
      hint: 'destroy every pool but Pool-0 first (xl cpupool-destroy), moving their domains to Pool-0',
    });
  }
  const first = host.cpus[0]?.node ?? 0;
  const inNode = (node: number): number[] => host.cpus.filter((c) => c.node === node).map((c) => c.cpu);
  const pool0 = pools[0] as CpuPool;
  let next = planAddCpus(pools, host, pool0, inNode(first).filter((c) => !pool0.cpus.includes(c))).pools;
  next = planRename(next, pool0, `Pool-node${first}`);
  for (const node of [...new Set(host.cpus.map((c) => c.node))].filter((n) => n !== first)) {
    const p0 = next[0] as CpuPool;
    next = withCpus(next, 0, p0.cpus.filter((c) => !inNode(node).includes(c)));
    next = planCreate(next, host, { name: `Pool-node${node}`, sched: p0.sched, cpus: inNode(node) });
  }
  return next;
}

function withCpus(pools: readonly CpuPool[], poolid: number, cpus: readonly number[]): CpuPool[] {
  return pools.map((p) => (p.poolid === poolid ? { ...p, cpus: [...new Set(cpus)].sort((a, b) => a - b) } : p));
}

/**
 * The pools of this host, kept in memory and in `file`. Changes are planned by the `plan*`
 * functions and made by `replace`, one at a time (`exclusive`), so that what a change planned
 * from is still the table when it is made.
 */
export class CpuPools {
  readonly host: PoolHost;
  readonly #file: string | undefined;
  readonly #queue = new KeyedQueue<'pools'>();
  #pools: readonly CpuPool[];

  private constructor(host: PoolHost, file: string | undefined, pools: readonly CpuPool[]) {
    this.host = host;
    this.#file = file;
    this.#pools = pools;
  }

  /**
   * The pools persisted in `file` (undefined: none kept), else a fresh `Pool-0` of every CPU.
   * CPUs the host no longer has leave their pools. `log` gets one line per thing set right.
   */
  static async open(host: PoolHost, file: string | undefined, log: (line: string) => void): Promise<CpuPools> {
    const fresh = (): CpuPool[] => [{
      poolid: 0, name: 'Pool-0', sched: host.scheduler, cpus: host.cpus.map((c) => c.cpu), uuid: globalThis.crypto.randomUUID(), params: DEFAULT_POOL_PARAMS,
    }];
    if (file === undefined) return new CpuPools(host, file, fresh());
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw fileError('Reading', file, e);
    }
    let pools: CpuPool[] | undefined;
    try {
      pools = text === undefined ? undefined : parsePools(text);
    } catch (e: unknown) {
      // Kept aside, as an unreadable domain record is: the pools it held may be wanted back.
      const aside = `${file}.corrupt-${Date.now()}`;
      await rename(file, aside).catch(() => undefined);
      log(`${file} is unreadable (${e instanceof Error ? e.message : String(e)}): kept as ${aside}; starting from Pool-0 with every CPU`);
    }
    if (pools === undefined) {
      // Pool-0 as made now (its scheduler the host's of today) is the one later starts find.
      const made = new CpuPools(host, file, []);
      await made.replace(fresh());
      return made;
    }
    const online = new Set(host.cpus.map((c) => c.cpu));
    const gone = pools.flatMap((p) => p.cpus.filter((c) => !online.has(c)));
    if (gone.length > 0) log(`CPUs ${gone.join(',')} are not online: they leave their pools`);
    return new CpuPools(host, file, pools.map((p) => ({ ...p, cpus: p.cpus.filter((c) => online.has(c)) })));
  }

  /** Every pool, by poolid. */
  list(): readonly CpuPool[] {
    return this.#pools;
  }

  get(poolid: number): CpuPool | undefined {
    return this.#pools.find((p) => p.poolid === poolid);
  }

  /** The pool `qualifier` names (a poolid or a name); CPUPOOL `unknown cpupool` when none. */
  resolve(qualifier: string): CpuPool {
    const p = findPool(this.#pools, qualifier);
    if (p === undefined) throw unknownPool(qualifier);
    return p;
  }

  /** Runs `change` when no other change of the pools is running. */
  exclusive<T>(change: () => Promise<T>): Promise<T> {
    return this.#queue.run('pools', change);
  }

  /**
   * Makes `pools` the table: in memory at once (a create deciding its pool meanwhile sees the new
   * table: it picked a pool being destroyed before), then on disk; a failed write puts the old
   * table back.
   */
  async replace(pools: readonly CpuPool[]): Promise<void> {
    const sorted = [...pools].sort((a, b) => a.poolid - b.poolid);
    const old = this.#pools;
    this.#pools = sorted;
    if (this.#file === undefined) return;
    try {
      await writeFileAtomic(this.#file, `${JSON.stringify({ version: FILE_VERSION, pools: sorted }, null, 2)}\n`);
    } catch (e: unknown) {
      if (this.#pools === sorted) this.#pools = old;
      throw e;
    }
  }
}

function parsePools(text: string): CpuPool[] {
  const o = JSON.parse(text) as { version?: unknown; pools?: unknown };
  if (o.version !== FILE_VERSION || !Array.isArray(o.pools)) throw new Error(`not a version ${FILE_VERSION} pool table`);
  const pools = o.pools.map((raw: unknown): CpuPool => {
    const p = raw as Partial<Record<keyof CpuPool, unknown>>;
    const params = p.params as Partial<Record<keyof PoolSchedParams, unknown>> | undefined;
    const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0);
    if (!Number.isInteger(p.poolid) || typeof p.name !== 'string' || typeof p.uuid !== 'string' || !ints(p.cpus)
      || !(POOL_SCHEDULERS as readonly unknown[]).includes(p.sched) || typeof params !== 'object'
      || ![params.tsliceMs, params.ratelimitUs, params.migrationDelayUs].every(Number.isInteger)) {
      throw new Error(`bad pool ${JSON.stringify(raw)}`);
    }
    return p as CpuPool;
  });
  if (pools[0]?.poolid !== 0) throw new Error('it has no Pool-0');
  return pools;
}
