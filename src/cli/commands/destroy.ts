import { connectToolstack } from '../../api/index.js';
import type { DomainIdentity } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl destroy [-f] <Domain>` (xl_vmcontrol.c `main_destroy`): kills the domain's QEMU at once and
 * removes the domain. Domain 0 only with `-f` (and even then dom0 refuses: it is the host).
 * Prints nothing; `--json` prints the destroyed domain's identity.
 */
export const destroyCommand = defineCommand<DomainIdentity>({
  async run(ctx, args) {
    const o = getopt(args, 'f');
    requireArgs('destroy', o.positional, 1);
    const ref = o.positional[0] as string;
    const data = await connectToolstack(ctx).destroyDomain({ ref, force: o.has('f') || ctx.force });
    return { data };
  },
  render: () => '',
});
