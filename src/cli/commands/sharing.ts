import { connectToolstack } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getListed } from '../domain-arg.js';
import { getopt } from '../getopt.js';

/**
 * `xl sharing [Domain]` (xl_mem.c `main_sharing`): each domain's memory and how much of it is
 * shared pages, in MiB. QEMU machines share no pages (no Xen memory sharing), so Shared is 0.
 * A domain argument fails as `xl list`'s does; more than one prints the help (exit 1).
 */
export const sharingCommand = defineCommand<readonly DomainInfo[]>({
  async run(ctx, args) {
    const p = getopt(args, '');
    if (p.positional.length > 1) {
      throw new ToolstackError('USAGE_ARGS', `'xl sharing' takes at most one domain, not ${p.positional.length}`, { lines: [] });
    }
    const api = connectToolstack(ctx);
    const ref = p.positional[0];
    return { data: ref === undefined ? await api.listDomains() : [await getListed(() => api.getDomain({ ref }), ref)] };
  },
  render: (domains) =>
    `Name                                        ID   Mem Shared\n${domains.map((d) =>
      `${d.name.padEnd(40)} ${String(d.domid).padStart(5)} ${String(Math.floor(d.memKiB / 1024)).padStart(5)}  ${'0'.padStart(5)}\n`).join('')}`,
});
