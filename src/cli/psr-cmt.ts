import { connectToolstack } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { findDomain } from './domain-arg.js';
import { getopt, requireArgs } from './getopt.js';
import { EXIT_LIBXL_FAIL, PSR_NO_SUCH_DOMAIN, requirePsrAbsent } from './psr.js';

/**
 * `xl psr-cmt-attach|detach <Domain>`: the domain as xl's find_domain reads it; then, on a host
 * without CMT, the hypervisor refuses (ESRCH for a domid it lacks, else ENODEV) and libxl says
 * so, exit 253.
 */
export function psrCmtAttachLike(name: 'psr-cmt-attach' | 'psr-cmt-detach', verb: 'attach' | 'detach'): CommandImpl {
  return defineCommand<never>({
    async run(ctx, args) {
      const p = getopt(args, '').positional;
      requireArgs(name, p, 1);
      const api = connectToolstack(ctx);
      const [domains, host] = await Promise.all([api.listDomains(), api.hostInfo()]);
      const { domid, domain } = findDomain(domains, p[0] as string);
      requirePsrAbsent(host, 'CMT');
      throw new ToolstackError('NOT_SUPPORTED', `Cannot ${verb} cache monitoring (CMT) ${verb === 'attach' ? 'to' : 'from'} domain ${domid}: this host has no Intel RDT`, {
        lines: [domain === undefined ? PSR_NO_SUCH_DOMAIN : 'libxl: error: libxl_psr.c:71:libxl__psr_cmt_log_err_msg: CMT is not supported in this system: No such device'],
        exitCode: EXIT_LIBXL_FAIL,
      });
    },
  });
}
