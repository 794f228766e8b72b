import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt } from '../getopt.js';
import { EXIT_LIBXL_FAIL, psrSetLines, psrTargetSockets, requirePsrAbsent } from '../psr.js';

/**
 * `xl psr-mba-set [-s SOCKETS] <Domain> <THRTL>` (xl_psr.c): anything but two arguments prints
 * the help with exit 1 (as xl does here); the domain as xl's find_domain reads it; then, on a
 * host without MBA, libxl's line for each target socket, exit 253 (none targeted: exit 0).
 */
export const psrMbaSetCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, 's:', [{ name: 'socket', hasArg: true, short: 's' }]);
    if (p.positional.length !== 2) throw new ToolstackError('USAGE_ARGS', `'xl psr-mba-set' takes a domain and a throttling value, not ${p.positional.length} arguments`, { lines: [] });
    const api = connectToolstack(ctx);
    const [domains, host] = await Promise.all([api.listDomains(), api.hostInfo()]);
    const { domid, domain } = findDomain(domains, p.positional[0] as string);
    requirePsrAbsent(host, 'MBA');
    const lines = psrSetLines(psrTargetSockets(host, p.opts.filter((o) => o.opt === 's').map((o) => o.value ?? '')), domain, 'MBA');
    if (lines.length === 0) return {};
    throw new ToolstackError('NOT_SUPPORTED', `Cannot set the memory bandwidth allocation (MBA) of domain ${domid}: this host has no Intel RDT`, { lines, exitCode: EXIT_LIBXL_FAIL });
  },
});
