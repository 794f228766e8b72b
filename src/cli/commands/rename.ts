import { connectToolstack } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl rename <Domain> <NewDomainName>` (libxl_domain_rename): the registry, `D/name` and
 * `/vm/<uuid>/name` change together; the new name must be free. Prints nothing.
 */
export const renameCommand = defineCommand<DomainInfo>({
  async run(ctx, args) {
    const o = getopt(args, '');
    requireArgs('rename', o.positional, 2);
    const [ref, name] = o.positional as [string, string];
    return { data: await connectToolstack(ctx).renameDomain({ ref, name }) };
  },
  render: () => '',
});
