/**
 * What `xl sched-credit`, `sched-credit2` and `sched-rtds` share (xl_sched.c): finding the
 * domain and pool they name, and Xen's listing — for each pool running the command's scheduler,
 * its pool line, a header, then a row per domain of the pool.
 */
import { libxlError } from '../api/index.js';
import type { CpupoolInfo, DomainSchedInfo, SchedulingInfo, ToolstackApi } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import type { ErrorCode } from '../common/index.js';
import { FailureOnStdout } from './command.js';

export type ListedScheduler = 'credit' | 'credit2' | 'rtds';

/** One pool of a listing and its domains' rows. */
export interface SchedSection {
  readonly pool: CpupoolInfo;
  readonly domains: readonly DomainSchedInfo[];
}

/** A failure xl reports with one line of its own and exit status 1. */
export function xlLine(line: string, hint: string, code: ErrorCode = 'USAGE'): ToolstackError {
  return new ToolstackError(code, line, { lines: [line], hint });
}

/**
 * The pool `qualifier` names (libxl's qualifier: a poolid or a name), or xl's `unknown cpupool`;
 * Pool-0 when undefined.
 */
export function schedPool(info: SchedulingInfo, qualifier: string | undefined): CpupoolInfo {
  const q = qualifier ?? '0';
  const p = /^\d+$/.test(q) ? info.pools.find((x) => x.poolid === Number(q)) : info.pools.find((x) => x.name === q);
  if (p === undefined) throw xlLine(`unknown cpupool '${q}'`, `the pools: ${info.pools.map((x) => x.name).join(', ')} (xl cpupool-list)`, 'CPUPOOL');
  return p;
}

/** The domain `ref` names (xl's find_domain); one that does not exist fails as `getDomain` does. */
export async function schedDomain(api: ToolstackApi, info: SchedulingInfo, ref: string): Promise<DomainSchedInfo> {
  const d = /^\d+$/.test(ref) ? info.domains.find((x) => x.domid === Number(ref)) : info.domains.find((x) => x.name === ref);
  if (d !== undefined) return d;
  await api.getDomain({ ref });
  throw new ToolstackError('DOMAIN_NOT_FOUND', `No domain '${ref}'`, { hint: 'xl list shows the domains' });
}

/** The pools running `sched` (only `only` when given), each with its domains (`sched_domain_output`). */
export function schedSections(info: SchedulingInfo, sched: ListedScheduler, only: CpupoolInfo | undefined): SchedSection[] {
  return info.pools.filter((p) => p.sched === sched && (only === undefined || p.poolid === only.poolid))
    .map((pool) => ({ pool, domains: info.domains.filter((d) => d.pool === pool.poolid) }));
}

/**
 * The line xl prints for a domain whose pool runs another scheduler than the command's
 * (`libxl_domain_sched_params_get returned credit2 not credit.`), after the header.
 */
export function wrongScheduler(d: DomainSchedInfo, info: SchedulingInfo, asked: ListedScheduler, header: string): FailureOnStdout {
  const pool = info.pools.find((p) => p.poolid === d.pool);
  const line = `libxl_domain_sched_params_get returned ${pool?.sched ?? 'unknown'} not ${asked}.`;
  return new FailureOnStdout('SCHED', line, header, {
    lines: [line],
    hint: `domain ${d.name} is in pool '${pool?.name ?? d.pool}', which runs ${pool?.sched ?? 'another scheduler'}${pool?.sched === 'null' ? ' (no parameters)' : `: use xl sched-${pool?.sched ?? 'credit'}`}`,
  });
}

/** `Name ID Weight Cap` (credit, credit2). */
export const SHARE_HEADER = `${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'Weight'.padStart(6)} ${'Cap'.padStart(4)}\n`;

export function shareRow(d: DomainSchedInfo): string {
  return `${d.name.padEnd(33)} ${String(d.domid).padStart(4)} ${String(d.weight).padStart(6)} ${String(d.cap).padStart(4)}\n`;
}

/** `xl sched-credit -s`'s pool line; another scheduler's pool has none (libxl's line goes to stderr). */
export function creditPoolLine(p: CpupoolInfo): string {
  if (p.sched !== 'credit') return `Cpupool ${p.name}: [sched params unavailable]\n`;
  return `Cpupool ${p.name}: tslice=${p.params.tsliceMs}ms ratelimit=${p.params.ratelimitUs}us migration-delay=${p.params.migrationDelayUs}us\n`;
}

export function credit2PoolLine(p: CpupoolInfo): string {
  if (p.sched !== 'credit2') return `Cpupool ${p.name}: [sched params unavailable]\n`;
  return `Cpupool ${p.name}: ratelimit=${p.params.ratelimitUs}us\n`;
}

/** libxl's line when a pool's scheduler-wide parameters are read for another scheduler. */
export function poolParamsUnavailable(asked: 'credit' | 'credit2'): string {
  return asked === 'credit'
    ? libxlError('libxl_sched.c:287:libxl_sched_credit_params_get', undefined, 'getting Credit scheduler parameters: Invalid argument')
    : libxlError('libxl_sched.c:362:libxl_sched_credit2_params_get', undefined, 'getting Credit2 scheduler parameters: Invalid argument');
}

/** A listing of credit or credit2 pools as text (`sched_domain_output`). */
export function shareListing(sections: readonly SchedSection[], poolLine: (p: CpupoolInfo) => string): string {
  return sections.map((s) => poolLine(s.pool) + SHARE_HEADER + s.domains.map(shareRow).join('')).join('');
}

/** `{key: value}` when `value` is given (an option xl saw). */
export function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : { [key]: value } as Partial<Record<K, number>>;
}
