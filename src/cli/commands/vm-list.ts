import { connectToolstack } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl vm-list` (xl_info.c `list_vm`): UUID, domid and name of every domain but stub domains
 * (dom0 has none). Xen's libxl_list_vm lists Domain-0 too, whatever the summary says (since 4.7
 * it walks libxl_list_domain, which starts at domid 0): so does this.
 */
export const vmListCommand = defineCommand<readonly DomainInfo[]>({
  async run(ctx, args) {
    getopt(args, '');
    return { data: await connectToolstack(ctx).listDomains() };
  },
  render: (domains) =>
    `UUID                                  ID    name\n${domains.map((d) => `${d.uuid}  ${d.domid}    ${d.name.padEnd(30)}\n`).join('')}`,
});
