import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt } from '../getopt.js';
import { psrNoInfo, requirePsrAbsent } from '../psr.js';

/**
 * `xl psr-mba-show [Domain]` (xl_psr.c): more than one domain prints the help (exit 2); the
 * domain as xl's find_domain reads it; then, on a host without MBA, `Failed to get info` (253).
 */
export const psrMbaShowCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    if (p.length > 1) throw new ToolstackError('USAGE_ARGS', `'xl psr-mba-show' takes at most one domain, not ${p.length}`, { lines: [], exitCode: 2 });
    const api = connectToolstack(ctx);
    const [domains, host] = await Promise.all([p[0] === undefined ? [] : api.listDomains(), api.hostInfo()]);
    if (p[0] !== undefined) findDomain(domains, p[0]);
    requirePsrAbsent(host, 'MBA');
    throw psrNoInfo('the memory bandwidth allocation (MBA)');
  },
});
