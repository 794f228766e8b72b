import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo, DomainSchedInfo } from '../../api/index.js';
import { atoi } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import type { LongOption } from '../getopt.js';
import { creditPoolLine, optional, poolParamsUnavailable, schedDomain, schedPool, schedSections, SHARE_HEADER, shareListing, shareRow, wrongScheduler, xlLine } from '../sched.js';
import type { SchedSection } from '../sched.js';

const LONG: readonly LongOption[] = [
  { name: 'domain', hasArg: true, short: 'd' },
  { name: 'weight', hasArg: true, short: 'w' },
  { name: 'cap', hasArg: true, short: 'c' },
  { name: 'schedparam', hasArg: false, short: 's' },
  { name: 'tslice_ms', hasArg: true, short: 't' },
  { name: 'ratelimit_us', hasArg: true, short: 'r' },
  { name: 'migration_delay_us', hasArg: true, short: 'm' },
  { name: 'cpupool', hasArg: true, short: 'p' },
];

type CreditData =
  | { readonly kind: 'pool'; readonly pool: CpupoolInfo }
  | { readonly kind: 'list'; readonly sections: readonly SchedSection[] }
  | { readonly kind: 'domain'; readonly domain: DomainSchedInfo }
  | { readonly kind: 'set'; readonly set: DomainSchedInfo | CpupoolInfo };

const PARAM_HINT = 'xl sched-credit [-d DOMAIN [-w WEIGHT] [-c CAP]] | [-s [-t TSLICE] [-r RATELIMIT] [-m DELAY]] [-p CPUPOOL]';

/**
 * `xl sched-credit` (xl_sched.c `main_sched_credit`): lists the credit pools and their domains'
 * weight and cap; `-d D` one domain; `-d D -w W -c C` sets them (the domain's cgroup: see
 * host/cgroups.ts); `-s [-p POOL]` a pool's tslice, ratelimit and migration delay, set with
 * `-t -r -m` (kept and shown: the kernel's scheduler has no per-pool equivalent). Values are
 * read as xl reads them (strtol: junk is 0); libxl checks them.
 */
export const schedCreditCommand = defineCommand<CreditData>({
  async run(ctx, args) {
    const o = getopt(args, 'd:w:c:p:t:r:m:s', LONG);
    const dom = o.value('d');
    const pool = o.value('p');
    const has = (c: string): boolean => o.has(c);
    if ((pool !== undefined || has('s')) && (dom !== undefined || has('w') || has('c'))) {
      throw xlLine('Specifying a cpupool or schedparam is not allowed with domain options.', PARAM_HINT);
    }
    if (dom === undefined && (has('w') || has('c'))) throw xlLine('Must specify a domain.', PARAM_HINT);
    if (!has('s') && (has('t') || has('r') || has('m'))) throw xlLine('Must specify schedparam to set schedule parameter values.', PARAM_HINT);
    const api = connectToolstack(ctx);
    const info = await api.getScheduling();
    const num = (c: string): number | undefined => (has(c) ? atoi(o.value(c) ?? '') : undefined);
    if (has('s')) {
      const p = schedPool(info, pool);
      if (!has('t') && !has('r') && !has('m')) {
        if (p.sched !== 'credit') ctx.warn(poolParamsUnavailable('credit'));
        return { data: { kind: 'pool', pool: p } };
      }
      const set = await api.setPoolSched({
        pool: String(p.poolid), sched: 'credit',
        ...optional('tsliceMs', num('t')), ...optional('ratelimitUs', num('r')), ...optional('migrationDelayUs', num('m')),
      });
      return { data: { kind: 'set', set } };
    }
    if (dom === undefined) {
      const only = pool === undefined ? undefined : schedPool(info, pool);
      return { data: { kind: 'list', sections: schedSections(info, 'credit', only) } };
    }
    if (!has('w') && !has('c')) {
      const d = await schedDomain(api, info, dom);
      if (info.pools.find((x) => x.poolid === d.pool)?.sched !== 'credit') throw wrongScheduler(d, info, 'credit', SHARE_HEADER);
      return { data: { kind: 'domain', domain: d } };
    }
    const set = await api.setDomainSched({ ref: dom, sched: 'credit', ...optional('weight', num('w')), ...optional('cap', num('c')) });
    return { data: { kind: 'set', set } };
  },
  render: (d) => {
    switch (d.kind) {
      case 'pool': return creditPoolLine(d.pool);
      case 'list': return shareListing(d.sections, creditPoolLine);
      case 'domain': return SHARE_HEADER + shareRow(d.domain);
      case 'set': return '';
    }
  },
});
