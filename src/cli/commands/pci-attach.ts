import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { DEVICE_PCI, idlToJson } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';
import { pciSpecArg } from '../passthrough.js';

/**
 * `xl pci-attach <Domain> <PCI_SPEC_STRING>`: the host PCI function (`[DDDD:]BB:DD.F[@VSLOT]`,
 * `BB:DD.*@VSLOT` for every function, or `name=NAME` from pci-assignable-add) is passed through
 * to the running domain with VFIO and joins its stored config. The host must have an IOMMU and
 * the device be assignable (bound to vfio-pci), or `seize=1` makes it so; each refusal is one
 * line saying why. A malformed spec is xl's `pci-attach: malformed PCI_SPEC_STRING` (exit 2).
 * Prints nothing, as xl (`--json`: the device).
 */
export const pciAttachCommand = defineCommand<DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('pci-attach', positional, 2);
    const [domain, spec] = positional as [string, string];
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const pci = pciSpecArg('pci-attach', spec);
    return { data: await connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'pci', device: idlToJson(DEVICE_PCI, pci) }) };
  },
  render: () => '',
});
