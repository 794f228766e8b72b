import { connectToolstack } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import { xlConfOf } from '../saved-config.js';
import { renderList } from '../list-render.js';

/**
 * `xl claims` (xl_info.c `main_claims`): `xl list` of every domain with a `Claimed` column. A
 * claim is memory reserved at create until the domain is built; dom0 builds a domain's memory as
 * it creates it (xl.conf `claim_mode` checks the host's free memory then), so no claim is ever
 * outstanding: the column is 0. Like xl, it notes on stderr when `claim_mode` is off.
 */
export const claimsCommand = defineCommand<readonly DomainInfo[]>({
  async run(ctx, args) {
    getopt(args, '');
    const xlConf = xlConfOf(ctx);
    if (!xlConf.claimMode) ctx.warn('claim_mode not enabled (see man xl.conf).');
    return { data: await connectToolstack(ctx).listDomains() };
  },
  render: (domains) => renderList(domains, { verbose: false, context: false, cpupool: false, numa: false, claim: true }),
});
