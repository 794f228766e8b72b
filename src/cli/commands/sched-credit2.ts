import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo, DomainSchedInfo } from '../../api/index.js';
import { atoi } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import type { LongOption } from '../getopt.js';
import { credit2PoolLine, optional, poolParamsUnavailable, schedDomain, schedPool, schedSections, SHARE_HEADER, shareListing, shareRow, wrongScheduler, xlLine } from '../sched.js';
import type { SchedSection } from '../sched.js';

const LONG: readonly LongOption[] = [
  { name: 'domain', hasArg: true, short: 'd' },
  { name: 'weight', hasArg: true, short: 'w' },
  { name: 'cap', hasArg: true, short: 'c' },
  { name: 'schedparam', hasArg: false, short: 's' },
  { name: 'ratelimit_us', hasArg: true, short: 'r' },
  { name: 'cpupool', hasArg: true, short: 'p' },
];

type Credit2Data =
  | { readonly kind: 'pool'; readonly pool: CpupoolInfo }
  | { readonly kind: 'list'; readonly sections: readonly SchedSection[] }
  | { readonly kind: 'domain'; readonly domain: DomainSchedInfo }
  | { readonly kind: 'set'; readonly set: DomainSchedInfo | CpupoolInfo };

const HINT = 'xl sched-credit2 [-d DOMAIN [-w WEIGHT] [-c CAP]] | [-s [-r RATELIMIT]] [-p CPUPOOL]';

/**
 * `xl sched-credit2` (`main_sched_credit2`): as `sched-credit` for credit2 pools — weight and cap
 * per domain, and a pool's ratelimit (`-s [-r]`; xl sets it without reading it first, and
 * ignores `-r` without `-s`).
 */
export const schedCredit2Command = defineCommand<Credit2Data>({
  async run(ctx, args) {
    const o = getopt(args, 'd:w:c:p:r:s', LONG);
    const dom = o.value('d');
    const pool = o.value('p');
    if (pool !== undefined && (dom !== undefined || o.has('w') || o.has('c'))) throw xlLine('Specifying a cpupool is not allowed with other options.', HINT);
    if (dom === undefined && (o.has('w') || o.has('c'))) throw xlLine('Must specify a domain.', HINT);
    const api = connectToolstack(ctx);
    const info = await api.getScheduling();
    const num = (c: string): number | undefined => (o.has(c) ? atoi(o.value(c) ?? '') : undefined);
    if (o.has('s')) {
      const p = schedPool(info, pool);
      if (!o.has('r')) {
        if (p.sched !== 'credit2') ctx.warn(poolParamsUnavailable('credit2'));
        return { data: { kind: 'pool', pool: p } };
      }
      return { data: { kind: 'set', set: await api.setPoolSched({ pool: String(p.poolid), sched: 'credit2', ...optional('ratelimitUs', num('r')) }) } };
    }
    if (dom === undefined) {
      const only = pool === undefined ? undefined : schedPool(info, pool);
      return { data: { kind: 'list', sections: schedSections(info, 'credit2', only) } };
    }
    if (!o.has('w') && !o.has('c')) {
      const d = await schedDomain(api, info, dom);
      if (info.pools.find((x) => x.poolid === d.pool)?.sched !== 'credit2') throw wrongScheduler(d, info, 'credit2', SHARE_HEADER);
      return { data: { kind: 'domain', domain: d } };
    }
    const set = await api.setDomainSched({ ref: dom, sched: 'credit2', ...optional('weight', num('w')), ...optional('cap', num('c')) });
    return { data: { kind: 'set', set } };
  },
  render: (d) => {
    switch (d.kind) {
      case 'pool': return credit2PoolLine(d.pool);
      case 'list': return shareListing(d.sections, credit2PoolLine);
      case 'domain': return SHARE_HEADER + shareRow(d.domain);
      case 'set': return '';
    }
  },
});
