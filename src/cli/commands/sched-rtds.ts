import { connectToolstack, libxlError } from '../../api/index.js';
import type { CpupoolInfo, CpuReservation, DomainSchedInfo, SchedulingInfo } from '../../api/index.js';
import { atoi } from '../../config/index.js';
import { defineCommand, FailureOnStdout } from '../command.js';
import { getopt } from '../getopt.js';
import type { LongOption } from '../getopt.js';
import { schedDomain, schedPool, schedSections, wrongScheduler, xlLine } from '../sched.js';
import type { SchedSection } from '../sched.js';

const LONG: readonly LongOption[] = [
  { name: 'domain', hasArg: true, short: 'd' },
  { name: 'period', hasArg: true, short: 'p' },
  { name: 'budget', hasArg: true, short: 'b' },
  { name: 'extratime', hasArg: true, short: 'e' },
  { name: 'vcpuid', hasArg: true, short: 'v' },
  { name: 'cpupool', hasArg: true, short: 'c' },
];

/** One vCPU row: the domain, the vCPU, its parameters. */
interface VcpuRow {
  readonly domain: DomainSchedInfo;
  readonly vcpu: number;
  readonly r: CpuReservation;
}

type RtdsData =
  | { readonly kind: 'list'; readonly sections: readonly SchedSection[] }
  | { readonly kind: 'vcpuList'; readonly sections: readonly SchedSection[] }
  | { readonly kind: 'domain'; readonly domain: DomainSchedInfo }
  | { readonly kind: 'vcpus'; readonly rows: readonly VcpuRow[] }
  | { readonly kind: 'set'; readonly set: DomainSchedInfo };

const HINT = 'xl sched-rtds [-d DOMAIN [-v VCPU|all [-p PERIOD -b BUDGET -e 0|1]...]] [--cpupool=POOL]';

const DOMAIN_HEADER = `${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'Period'.padStart(9)} ${'Budget'.padStart(9)} ${'Extratime'.padStart(10)}\n`;
const VCPU_HEADER = `${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'VCPU'.padStart(4)} ${'Period'.padStart(9)} ${'Budget'.padStart(9)} ${'Extratime'.padStart(10)}\n`;

/**
 * A domain's row. Xen's RTDS answers a domain-wide query with its defaults (10000/4000 µs), and
 * libxl leaves extratime unset (shown `yes`), whatever the vCPUs have: `-v all` shows those.
 */
function domainRow(d: DomainSchedInfo): string {
  return `${d.name.padEnd(33)} ${String(d.domid).padStart(4)} ${'10000'.padStart(9)} ${'4000'.padStart(9)} ${'yes'.padStart(10)}\n`;
}

function vcpuRow(row: VcpuRow): string {
  const d = row.domain;
  return `${d.name.padEnd(33)} ${String(d.domid).padStart(4)} ${String(row.vcpu).padStart(4)} ${String(row.r.period).padStart(9)} ${String(row.r.budget).padStart(9)} ${(row.r.extratime ? 'yes' : 'no').padStart(10)}\n`;
}

function allVcpus(d: DomainSchedInfo): VcpuRow[] {
  return d.vcpus.map((r, vcpu) => ({ domain: d, vcpu, r }));
}

/**
 * `xl sched-rtds` (`main_sched_rtds`): lists the rtds pools' domains, or with `-v all` every
 * vCPU; `-d D -v N [-v M ...]` shows vCPUs; `-d D -v N -p P -b B -e E [-v ...]` (or `-v all -p
 * -b -e`) sets them, each vCPU thread's cgroup (host/cgroups.ts). As in xl, every set gives
 * `-p`, `-b` and `-e` for each vCPU, `-e` is exactly 0 or 1, and `-c` takes no pool: only
 * `--cpupool=POOL` does.
 */
export const schedRtdsCommand = defineCommand<RtdsData>({
  async run(ctx, args) {
    const o = getopt(args, 'd:p:b:e:v:c', LONG);
    const dom = o.value('d');
    const pool = o.value('c');
    const vcpus: number[] = [];
    const periods: number[] = [];
    const budgets: number[] = [];
    const extratimes: boolean[] = [];
    let all = false;
    for (const { opt, value = '' } of o.opts) {
      if (opt === 'p') periods.push(atoi(value));
      else if (opt === 'b') budgets.push(atoi(value));
      else if (opt === 'e') {
        if (value !== '0' && value !== '1') throw xlLine('Invalid extratime.', 'extratime is 1 (yes) or 0 (no)');
        extratimes.push(value === '1');
      } else if (opt === 'v') {
        if (value === 'all') all = true;
        else vcpus.push(atoi(value));
      }
    }
    const [optP, optB, optE, optV] = [periods.length > 0, budgets.length > 0, extratimes.length > 0, vcpus.length > 0];
    if (pool !== undefined && (dom !== undefined || optP || optB || optE || optV || all)) throw xlLine('Specifying a cpupool is not allowed with other options.', HINT);
    if (dom === undefined && (optP || optB || optE || optV)) throw xlLine('Missing parameters.', HINT);
    if (dom !== undefined && !optV && !all && (optP || optB || optE)) throw xlLine('Must specify VCPU.', HINT);
    if (optV && all) throw xlLine('Incorrect VCPU IDs.', HINT);
    const v = vcpus.length;
    if ((v > budgets.length && optB) || (v > periods.length && optP) || (v > extratimes.length && optE)
      || periods.length !== budgets.length || periods.length !== extratimes.length) {
      throw xlLine('Incorrect number of period, budget and extratime', 'give -p, -b and -e once for each -v');
    }
    const api = connectToolstack(ctx);
    const info = await api.getScheduling();
    if (dom === undefined) {
      const only = pool === undefined ? undefined : schedPool(info, pool);
      return { data: { kind: all ? 'vcpuList' : 'list', sections: schedSections(info, 'rtds', only) } };
    }
    const d = await schedDomain(api, info, dom);
    if (!optV && !all) {
      if (schedOf(info, d) !== 'rtds') throw wrongScheduler(d, info, 'rtds', DOMAIN_HEADER);
      return { data: { kind: 'domain', domain: d } };
    }
    if (!optP && !optB && !optE) return { data: { kind: 'vcpus', rows: vcpuRows(info, d, all ? undefined : vcpus) } };
    const set = all
      ? await api.setVcpuSched({ ref: dom, all: { period: periods[0] as number, budget: budgets[0] as number, extratime: extratimes[0] as boolean } })
      : await api.setVcpuSched({ ref: dom, vcpus: vcpus.map((vcpuid, i) => ({ vcpuid, period: periods[i] as number, budget: budgets[i] as number, extratime: extratimes[i] as boolean })) });
    return { data: { kind: 'set', set } };
  },
  render: (d) => {
    switch (d.kind) {
      case 'list': return d.sections.map((s) => poolLine(s.pool) + DOMAIN_HEADER + s.domains.map(domainRow).join('')).join('');
      case 'vcpuList': return d.sections.map((s) => poolLine(s.pool) + VCPU_HEADER + s.domains.flatMap(allVcpus).map(vcpuRow).join('')).join('');
      case 'domain': return DOMAIN_HEADER + domainRow(d.domain);
      case 'vcpus': return VCPU_HEADER + d.rows.map(vcpuRow).join('');
      case 'set': return '';
    }
  },
});

function poolLine(p: CpupoolInfo): string {
  return `Cpupool ${p.name}: sched=RTDS\n`;
}

function schedOf(info: SchedulingInfo, d: DomainSchedInfo): string | undefined {
  return info.pools.find((p) => p.poolid === d.pool)?.sched;
}

/**
 * libxl's `libxl_vcpu_sched_params_get` (`ids`) or `_get_all`: the rows, or its line and xl's
 * (after xl printed the header) for a domain of another scheduler or a vCPU it does not have.
 */
function vcpuRows(info: SchedulingInfo, d: DomainSchedInfo, ids: readonly number[] | undefined): VcpuRow[] {
  const fail = (line: string, hint: string): FailureOnStdout => {
    const xl = ids === undefined ? 'libxl_vcpu_sched_params_get_all failed.' : 'libxl_vcpu_sched_params_get failed.';
    return new FailureOnStdout('SCHED', line, VCPU_HEADER, { lines: [line, xl], hint });
  };
  if (schedOf(info, d) !== 'rtds') {
    const where = ids === undefined ? 'libxl_sched.c:964:libxl_vcpu_sched_params_get_all' : 'libxl_sched.c:931:libxl_vcpu_sched_params_get';
    throw fail(libxlError(where, d.domid, 'per-VCPU parameter getting not supported for this scheduler'), `domain ${d.name} is not in an rtds pool (xl cpupool-list)`);
  }
  if (ids === undefined) return allVcpus(d);
  const max = d.vcpus.length - 1;
  const bad = ids.find((n) => n < 0 || n > max);
  if (bad !== undefined) {
    throw fail(libxlError('libxl_sched.c:524:sched_rtds_vcpu_get', d.domid, `VCPU index is out of range, valid values are within range from 0 to ${max}`), `domain ${d.name} has vCPUs 0-${max}`);
  }
  return ids.map((vcpu) => ({ domain: d, vcpu, r: d.vcpus[vcpu] as CpuReservation }));
}
