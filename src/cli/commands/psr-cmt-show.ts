import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';
import { EXIT_MINUS_ONE, requirePsrAbsent } from '../psr.js';

const CMT_TYPES: readonly string[] = ['cache-occupancy', 'total-mem-bandwidth', 'local-mem-bandwidth'];

/**
 * `xl psr-cmt-show <PSR-CMT-Type> [Domain]` (xl_psr.c): an unknown type or more than one domain
 * prints the help (exit 2); the domain as xl's find_domain reads it; then, on a host without
 * CMT, `CMT is disabled in the system` (exit 255).
 */
export const psrCmtShowCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('psr-cmt-show', p, 1);
    if (!CMT_TYPES.includes(p[0] as string) || p.length > 2) {
      throw new ToolstackError('USAGE_ARGS', `'xl psr-cmt-show' takes a monitor type (${CMT_TYPES.join(', ')}) and at most one domain`, { lines: [], exitCode: 2 });
    }
    const api = connectToolstack(ctx);
    const [domains, host] = await Promise.all([p[1] === undefined ? [] : api.listDomains(), api.hostInfo()]);
    if (p[1] !== undefined) findDomain(domains, p[1]);
    requirePsrAbsent(host, 'CMT');
    throw new ToolstackError('NOT_SUPPORTED', 'Cannot show cache monitoring (CMT): this host has no Intel RDT', {
      lines: ['CMT is disabled in the system'],
      exitCode: EXIT_MINUS_ONE,
    });
  },
});
