import { connectToolstack } from '../../api/index.js';
import type { AssignablePciChange } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl pci-assignable-remove [-r] <BDF>|NAME`: a name pci-assignable-add gave, else a BDF (xl's
 * order); the device leaves vfio-pci and, with `-r`, goes back to the driver it had. Refused
 * while a domain has it. A malformed BDF is xl's `pci-assignable-remove: malformed BDF 'X'` (exit 2).
 */
export const pciAssignableRemoveCommand = defineCommand<AssignablePciChange>({
  async run(ctx, args) {
    const o = getopt(args, 'r');
    requireArgs('pci-assignable-remove', o.positional, 1);
    const change = await connectToolstack(ctx).removeAssignablePci({ ident: o.positional[0] as string, rebind: o.has('r') });
    for (const w of change.warnings) ctx.warn(w);
    return { data: change };
  },
  render: () => '',
});
