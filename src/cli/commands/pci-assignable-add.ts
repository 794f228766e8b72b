import { connectToolstack } from '../../api/index.js';
import type { AssignablePciChange } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { parsePciBdf, pciBdfText } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl pci-assignable-add [-n NAME|--name=NAME] <BDF>`: the host device is bound to vfio-pci (as
 * Xen binds it to pciback), remembering its driver for `pci-assignable-remove -r`, and may be
 * named for `pci=['name=NAME']`. VFIO needs an IOMMU: on a host without one this is one line
 * saying so. A malformed BDF is xl's `pci-assignable-add: malformed BDF "X"` (exit 2).
 */
export const pciAssignableAddCommand = defineCommand<AssignablePciChange>({
  async run(ctx, args) {
    const o = getopt(args, 'n:', [{ name: 'name', hasArg: true, short: 'n' }]);
    requireArgs('pci-assignable-add', o.positional, 1);
    const text = o.positional[0] as string;
    let bdf: string;
    try {
      bdf = pciBdfText(parsePciBdf(text));
    } catch {
      const line = `pci-assignable-add: malformed BDF "${text}"`;
      throw new ToolstackError('SPEC_PCI', line, { lines: [line], exitCode: 2, hint: 'a BDF is [DDDD:]BB:DD.F in hex (lspci -D)' });
    }
    const name = o.value('n');
    const change = await connectToolstack(ctx).addAssignablePci({ bdf, ...(name === undefined ? {} : { name }) });
    for (const w of change.warnings) ctx.warn(w);
    return { data: change };
  },
  render: () => '',
});
