import { connectToolstack } from '../../api/index.js';
import type { AssignablePciList } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl pci-assignable-list [-n|--show-names]`: the host devices bound to vfio-pci that no domain
 * has, one `DDDD:BB:DD.F NAME` a line as xl prints them (the name with `-n` only; the space
 * always). On a host without an IOMMU none can be, which a line on stderr says.
 */
export const pciAssignableListCommand = defineCommand<AssignablePciList & { readonly showNames: boolean }>({
  async run(ctx, args) {
    const o = getopt(args, 'n', [{ name: 'show-names', hasArg: false, short: 'n' }]);
    const list = await connectToolstack(ctx).listAssignablePci();
    for (const w of list.warnings) ctx.warn(w);
    return { data: { ...list, showNames: o.has('n') } };
  },
  render: (d) => d.devices.map((p) => `${p.bdf} ${d.showNames ? (p.name ?? '') : ''}\n`).join(''),
});
