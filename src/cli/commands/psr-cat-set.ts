import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';
import { catLevel, EXIT_LIBXL_FAIL, psrSetLines, psrTargetSockets, requirePsrAbsent } from '../psr.js';

/**
 * `xl psr-cat-set [-s SOCKETS] [-l 2|3] [-c|-d] <Domain> <CBM>` (xl_psr.c): xl's checks in its
 * order (`-l`, `-c` with `-d`, more than two arguments print the help with exit 2, the domain);
 * then, on a host without CAT, libxl's line for each target socket (`L3 CAT`, `CDP` with -c or
 * -d, `L2 CAT`), exit 253; no socket of the host targeted is silently nothing (exit 0).
 */
export const psrCatSetCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, 's:l:cd', [
      { name: 'socket', hasArg: true, short: 's' }, { name: 'data', hasArg: false, short: 'd' },
      { name: 'code', hasArg: false, short: 'c' }, { name: 'level', hasArg: true, short: 'l' },
    ]);
    requireArgs('psr-cat-set', p.positional, 2);
    const lvl = catLevel(p.value('l'));
    if (lvl === 3 && p.has('c') && p.has('d')) {
      throw new ToolstackError('USAGE', 'Cannot handle -c and -d at the same time', { lines: ['Cannot handle -c and -d at the same time'], hint: 'set the code (-c) and data (-d) masks one at a time' });
    }
    if (p.positional.length !== 2) throw new ToolstackError('USAGE_ARGS', `'xl psr-cat-set' takes a domain and a CBM, not ${p.positional.length} arguments`, { lines: [], exitCode: 2 });
    const api = connectToolstack(ctx);
    const [domains, host] = await Promise.all([api.listDomains(), api.hostInfo()]);
    const { domid, domain } = findDomain(domains, p.positional[0] as string);
    requirePsrAbsent(host, lvl === 2 ? 'L2 CAT' : 'L3 CAT');
    const feature = lvl === 2 ? 'L2 CAT' : p.has('c') || p.has('d') ? 'CDP' : 'L3 CAT';
    const lines = psrSetLines(psrTargetSockets(host, p.opts.filter((o) => o.opt === 's').map((o) => o.value ?? '')), domain, feature);
    if (lines.length === 0) return {};
    throw new ToolstackError('NOT_SUPPORTED', `Cannot set the cache allocation (${feature}) of domain ${domid}: this host has no Intel RDT`, { lines, exitCode: EXIT_LIBXL_FAIL });
  },
});
