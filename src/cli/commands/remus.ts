import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { atoi } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl remus [options] <Domain> [<host>]` (xl_migrate.c `main_remus`): Remus and COLO need a
 * hypervisor that checkpoints a running domain many times a second (log-dirty memory, network
 * output buffering, disk replication); dom0's QEMU machines have none of it. So xl's checks run
 * as in Xen (options, the domain, `-p` without `-c`, `-c` with `-i/-b/-n/-d`, the domain's
 * stored config, libxl's unsafe-mode check), and then it fails where a Xen whose libxl lacks
 * network buffering (built without libnl3) fails: libxl's `No support for network buffering`
 * for Remus, and xl's `Backup failed? resuming domain at primary.`, exit 1. It never contacts
 * `<host>` (Xen would have started `ssh <host> xl migrate-receive -r` first). COLO, and Remus
 * without network buffering (`-n -F`), fail with that last line alone.
 */
export const remusCommand = defineCommand<never>({
  async run(ctx, args) {
    const p = getopt(args, 'Fbundi:s:N:ecp');
    requireArgs('remus', p.positional, 2);
    const { domid, domain } = findDomain(await connectToolstack(ctx).listDomains(), p.positional[0] as string);
    const colo = p.has('c');
    const mode = colo ? 'COLO' : 'Remus';
    const fail = (lines: readonly string[], exitCode = 1, hint?: string): ToolstackError =>
      new ToolstackError('NOT_SUPPORTED', `${mode} of domain ${domid} is not available: dom0's machines cannot be checkpointed`, { lines, exitCode, ...(hint === undefined ? {} : { hint }) });
    const unavailable = 'dom0 cannot checkpoint a running domain; xl save and xl migrate move one whole';
    if (p.has('p') && !colo) throw fail(['Option -p must be used in conjunction with -c'], 255);
    if (colo) {
      const interval = p.has('i') ? atoi(p.value('i') ?? '') : 0;
      if (interval !== 0 || p.has('b') || p.has('n') || p.has('d')) throw fail(['option -c is conflict with -i, -d, -n or -b: Success'], 255);
      if (!p.has('u')) ctx.warn('COLO can\'t be used with memory compression. Disable memory checkpoint compression now...: Success');
    }
    if (!p.has('b') && (domain === undefined || domid === 0)) throw fail(['unable to retrieve domain configuration']);
    if (domain === undefined) {
      // libxl finds no domain to start Remus on; xl then takes it for one destroyed by failover.
      ctx.warn(`libxl: error: libxl_dom.c:37:libxl__domain_type: Domain ${domid}:unable to get dominfo: No such process`);
      ctx.warn(`${mode}: Primary domain has been destroyed.`);
      return {};
    }
    const backupFailed = `${mode}: Backup failed? resuming domain at primary.`;
    if (!p.has('F') && (p.has('b') || p.has('n') || p.has('d'))) {
      throw fail([`libxl: error: libxl_domain.c:446:libxl_domain_remus_start: ${libxlDomain(domid)}Unsafe mode must be enabled to replicate to /dev/null,disable network buffering and disk replication`, backupFailed]);
    }
    if (!colo && !p.has('n')) throw fail([`libxl: error: libxl_remus.c:87:libxl__remus_setup: ${libxlDomain(domid)}Remus: No support for network buffering`, backupFailed], 1, unavailable);
    throw fail([backupFailed], 1, unavailable);
  },
});

/** libxl's `Domain N:` prefix of a log line about a guest (none for Domain-0). */
function libxlDomain(domid: number): string {
  return domid > 0 ? `Domain ${domid}:` : '';
}
