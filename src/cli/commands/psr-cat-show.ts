import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt } from '../getopt.js';
import { catLevel, psrNoInfo, requirePsrAbsent } from '../psr.js';

/**
 * `xl psr-cat-show [-l 2|3] [Domain]` (xl_psr.c): more than one domain prints the help (exit 2);
 * the domain as xl's find_domain reads it; the level (`Input lvl %d is wrong`, exit 1); then, on
 * a host without CAT, `Failed to get info` (exit 253).
 */
export const psrCatShowCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, 'l:', [{ name: 'level', hasArg: true, short: 'l' }]);
    if (p.positional.length > 1) throw new ToolstackError('USAGE_ARGS', `'xl psr-cat-show' takes at most one domain, not ${p.positional.length}`, { lines: [], exitCode: 2 });
    const api = connectToolstack(ctx);
    const ref = p.positional[0];
    const [domains, host] = await Promise.all([ref === undefined ? [] : api.listDomains(), api.hostInfo()]);
    if (ref !== undefined) findDomain(domains, ref);
    const lvl = catLevel(p.value('l'));
    requirePsrAbsent(host, lvl === 2 ? 'L2 CAT' : 'L3 CAT');
    throw psrNoInfo(`the L${lvl} cache allocation (CAT)`);
  },
});
