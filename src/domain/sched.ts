/**
 * Xen's schedulers as dom0 runs them (on the host's cgroups: `host/cgroups.ts` has the table of
 * what each parameter becomes): which ones, their defaults, and the checks libxl and Xen make of
 * a parameter before it is set, failing with their own log lines (Xen 4.17's file:line).
 */
import { ToolstackError } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import type { CpuReservation } from '../host/index.js';

/**
 * The schedulers a pool can run: those with a meaning on cgroups (`null` has no parameters).
 * Xen's `sedf` is gone (4.6) and `arinc653` is not in a release build: a pool cannot have them.
 */
export const POOL_SCHEDULERS = ['credit', 'credit2', 'rtds', 'null'] as const;
export type PoolScheduler = (typeof POOL_SCHEDULERS)[number];

/** The scheduler of Xen 4.17 booted without `sched=` (Kconfig's default). */
export const DEFAULT_SCHEDULER: PoolScheduler = 'credit2';

/** `CSCHED_DEFAULT_WEIGHT` / `CSCHED2_DEFAULT_WEIGHT`, and no cap. */
export const DEFAULT_WEIGHT = 256;
export const DEFAULT_CAP = 0;
/** `RTDS_DEFAULT_PERIOD` / `_BUDGET` (µs), with extratime. */
export const DEFAULT_RESERVATION: CpuReservation = { period: 10_000, budget: 4_000, extratime: true };

/**
 * Where a domain is scheduled and with what (Xen's per-domain scheduler state): its CPU pool and
 * the parameters of that pool's scheduler — credit and credit2 `weight` and `cap`, rtds each
 * vCPU's reservation (one per possible vCPU, `maxvcpus`). A move to another pool resets them to
 * the defaults, as Xen's does.
 */
export interface DomainSched {
  readonly pool: number;
  readonly weight: number;
  readonly cap: number;
  readonly vcpus: readonly CpuReservation[];
}

/** A pool's scheduler-wide parameters: credit's three (credit2 has `ratelimitUs` only). */
export interface PoolSchedParams {
  readonly tsliceMs: number;
  readonly ratelimitUs: number;
  readonly migrationDelayUs: number;
}

/** `CSCHED_DEFAULT_TSLICE_MS`, `SCHED_DEFAULT_RATELIMIT_US`, no migration delay. */
export const DEFAULT_POOL_PARAMS: PoolSchedParams = { tsliceMs: 30, ratelimitUs: 1000, migrationDelayUs: 0 };

/** A domain in pool `pool` with the defaults for `maxVcpus` vCPUs. */
export function defaultSched(pool: number, maxVcpus: number): DomainSched {
  return { pool, weight: DEFAULT_WEIGHT, cap: DEFAULT_CAP, vcpus: Array.from({ length: maxVcpus }, () => DEFAULT_RESERVATION) };
}

/** Whether `s` asks for nothing: Pool-0 and the defaults. */
export function isDefaultSched(s: DomainSched): boolean {
  const d = DEFAULT_RESERVATION;
  return s.pool === 0 && s.weight === DEFAULT_WEIGHT && s.cap === DEFAULT_CAP
    && s.vcpus.every((v) => v.period === d.period && v.budget === d.budget && v.extratime === d.extratime);
}

/** libxl's error log line: `libxl: error: FILE:LINE:FUNC: [Domain N:]TEXT`, as 4.17's libxl writes it to stderr. */
export function libxlError(where: string, domid: number | undefined, text: string): string {
  return `libxl: error: ${where}: ${domid !== undefined && domid > 0 ? `Domain ${domid}:` : ''}${text}`;
}

/** What a failed `libxl_*` call of xl ends with: libxl's lines, then xl's own. */
export function schedError(lines: readonly string[], hint: string, code: 'SCHED' | 'CPUPOOL' = 'SCHED'): ToolstackError {
  return new ToolstackError(code, lines[0] ?? 'scheduler error', { lines, hint });
}

const WHERE = {
  credit: { get: 'libxl_sched.c:232:sched_credit_domain_set', weight: 'libxl_sched.c:238:sched_credit_domain_set', cap: 'libxl_sched.c:248:sched_credit_domain_set', name: 'credit' },
  credit2: { get: 'libxl_sched.c:439:sched_credit2_domain_set', weight: 'libxl_sched.c:445:sched_credit2_domain_set', cap: 'libxl_sched.c:455:sched_credit2_domain_set', name: 'credit2' },
} as const;

/**
 * libxl's `sched_credit{,2}_domain_set` for a domain whose pool runs `poolSched`: the new weight
 * and cap (-1 or absent: unchanged), or libxl's failure lines (a pool of another scheduler: the
 * hypercall's EINVAL).
 */
export function checkShare(
  domid: number, asked: 'credit' | 'credit2', poolSched: PoolScheduler, maxVcpus: number,
  now: { readonly weight: number; readonly cap: number }, change: { readonly weight?: number; readonly cap?: number },
): { readonly weight: number; readonly cap: number } | { readonly lines: string[] } {
  const w = WHERE[asked];
  if (poolSched !== asked) return { lines: [libxlError(w.get, domid, `Getting domain sched ${w.name}: Invalid argument`)] };
  let { weight, cap } = now;
  if (change.weight !== undefined && change.weight !== -1) {
    if (change.weight < 1 || change.weight > 65535) {
      return { lines: [libxlError(w.weight, domid, 'Cpu weight out of range, valid values are within range from 1 to 65535')] };
    }
    weight = change.weight;
  }
  if (change.cap !== undefined && change.cap !== -1) {
    if (change.cap < 0 || change.cap > maxVcpus * 100) {
      return { lines: [libxlError(w.cap, domid, `Cpu cap out of range, valid range is from 0 to ${maxVcpus * 100} for specified number of vcpus`)] };
    }
    cap = change.cap;
  }
  return { weight, cap };
}

/** libxl's `sched_rtds_validate_params` (its lines have no domain). */
export function checkReservation(period: number, budget: number): string[] {
  const where = 'libxl_sched.c:%d:sched_rtds_validate_params';
  if (period < 1) return [libxlError(where.replace('%d', '477'), undefined, `Invalid VCPU period of ${period} (it should be >= 1)`)];
  if (budget < 1) return [libxlError(where.replace('%d', '483'), undefined, `Invalid VCPU budget of ${budget} (it should be >= 1)`)];
  if (budget > period) {
    return [libxlError(where.replace('%d', '489'), undefined, `VCPU budget must be smaller than or equal to period, but ${budget} > ${period}`)];
  }
  return [];
}

/** Xen's own bounds on an RTDS vCPU (`rt_dom_cntl`): 10 µs up, budget ≤ period; else EINVAL. */
export function xenAcceptsReservation(r: CpuReservation): boolean {
  return r.period >= 10 && r.budget >= 10 && r.budget <= r.period && r.period <= Number.MAX_SAFE_INTEGER;
}

/** One vCPU's new RTDS parameters (`xl sched-rtds -v ID -p -b -e`). */
export interface VcpuReservation extends CpuReservation {
  readonly vcpuid: number;
}

/**
 * libxl's `sched_rtds_vcpu_set` (`vcpus`) or `_set_all` (`all`) for a domain whose pool runs
 * `poolSched` and that has `now.length` vCPUs: the vCPUs' reservations after, or libxl's lines.
 */
export function checkReservations(
  domid: number, poolSched: PoolScheduler, now: readonly CpuReservation[],
  change: { readonly vcpus: readonly VcpuReservation[] } | { readonly all: CpuReservation },
): { readonly vcpus: CpuReservation[] } | { readonly lines: string[] } {
  const maxId = now.length - 1;
  const list = 'all' in change ? now.map((_, vcpuid) => ({ ...change.all, vcpuid })) : change.vcpus;
  if (!('all' in change)) {
    for (const v of list) {
      if (v.vcpuid < 0 || v.vcpuid > maxId) {
        return { lines: [libxlError('libxl_sched.c:627:sched_rtds_vcpu_set', domid, `Invalid VCPU ${v.vcpuid}: valid range is [0, ${maxId}]`)] };
      }
      const bad = checkReservation(v.period, v.budget);
      if (bad.length > 0) return { lines: bad };
    }
  } else {
    const bad = checkReservation(change.all.period, change.all.budget);
    if (bad.length > 0) return { lines: bad };
  }
  if (poolSched !== 'rtds' || !list.every(xenAcceptsReservation)) {
    const where = 'all' in change ? 'libxl_sched.c:705:sched_rtds_vcpu_set_all' : 'libxl_sched.c:653:sched_rtds_vcpu_set';
    return { lines: [libxlError(where, domid, 'Setting vcpu sched rtds: Invalid argument')] };
  }
  const vcpus = [...now];
  for (const v of list) vcpus[v.vcpuid] = { period: v.period, budget: v.budget, extratime: v.extratime };
  return { vcpus };
}

/**
 * libxl's `libxl_sched_credit_params_set` / `libxl_sched_credit2_params_set` on a pool running
 * `poolSched`: the pool's parameters after, or libxl's and xl's lines. `credit` reads the pool's
 * first (xl does, and fails there on a pool of another scheduler).
 */
export function checkPoolParams(
  asked: 'credit' | 'credit2', poolSched: PoolScheduler, now: PoolSchedParams, change: Partial<PoolSchedParams>,
): { readonly params: PoolSchedParams } | { readonly lines: string[] } {
  if (asked === 'credit' && poolSched !== 'credit') {
    return { lines: [libxlError('libxl_sched.c:287:libxl_sched_credit_params_get', undefined, 'getting Credit scheduler parameters: Invalid argument'), 'libxl_sched_credit_params_get failed.'] };
  }
  const p = { ...now, ...change };
  const fail = (line: number, func: string, text: string): { lines: string[] } =>
    ({ lines: [libxlError(`libxl_sched.c:${line}:${func}`, undefined, text), `libxl_sched_${asked}_params_set failed.`] });
  if (asked === 'credit' && (p.tsliceMs < 1 || p.tsliceMs > 1000)) return fail(311, 'libxl_sched_credit_params_set', 'Time slice out of range, valid range is from 1 to 1000');
  if (p.ratelimitUs !== 0 && (p.ratelimitUs < 100 || p.ratelimitUs > 500_000)) return fail(270, 'sched_ratelimit_check', 'Ratelimit out of range, valid range is from 100 to 500000');
  if (asked === 'credit') {
    if (p.ratelimitUs > p.tsliceMs * 1000) return fail(321, 'libxl_sched_credit_params_set', 'Ratelimit cannot be greater than timeslice');
    if (p.migrationDelayUs > 100_000) return fail(326, 'libxl_sched_credit_params_set', 'vcpu migration delay should be >= 0 and <= 100000us');
    // Xen takes the delay unsigned: a negative one is too large there.
    if (p.migrationDelayUs < 0) return fail(338, 'libxl_sched_credit_params_set', 'Setting Credit scheduler parameters: Invalid argument');
  } else if (poolSched !== 'credit2') {
    return fail(389, 'libxl_sched_credit2_params_set', 'Setting Credit2 scheduler parameters: Invalid argument');
  }
  return { params: p };
}

/**
 * `config` as libxl retrieves a running domain's (`libxl_retrieve_domain_configuration` reads the
 * scheduling parameters back): where `sched-credit`, `sched-credit2` or `sched-rtds` changed the
 * domain's weight, cap, period or budget from what its config gives, `b_info.sched_params` says the
 * live value, so that what is saved, migrated or shown carries it. The pool is left as configured,
 * as libxl leaves `poolid` after `cpupool-migrate`.
 */
export function withLiveSched(config: DomainConfig, sched: DomainSched): DomainConfig {
  const sp = config.b_info?.sched_params ?? {};
  const given = (v: number | undefined, d: number): number => (v === undefined || v === -1 ? d : v);
  const r = sched.vcpus[0] ?? DEFAULT_RESERVATION;
  const live: Record<string, number> = {};
  if (sched.weight !== given(sp.weight, DEFAULT_WEIGHT)) live['weight'] = sched.weight;
  if (sched.cap !== given(sp.cap, DEFAULT_CAP)) live['cap'] = sched.cap;
  if (r.period !== given(sp.period, DEFAULT_RESERVATION.period)) live['period'] = r.period;
  if (r.budget !== given(sp.budget, DEFAULT_RESERVATION.budget)) live['budget'] = r.budget;
  if (Object.keys(live).length === 0) return config;
  return { ...config, b_info: { ...config.b_info, sched_params: { ...sp, ...live } } };
}

