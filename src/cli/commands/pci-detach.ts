import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';
import { pciSpecArg } from '../passthrough.js';

/**
 * `xl pci-detach [-f] <Domain> <PCI_SPEC_STRING>`: the guest is asked to release the function
 * (ACPI unplug) and dom0 waits for it; `-f` removes it from the domain's config after a short
 * grace even if the guest holds on. The device stays bound to vfio-pci (assignable), as with
 * pciback in Xen. `PCI device not attached to this domain` when the domain has none such.
 */
export const pciDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const o = getopt(args, 'f');
    requireArgs('pci-detach', o.positional, 2);
    const [domain, spec] = o.positional as [string, string];
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    pciSpecArg('pci-detach', spec);
    return { data: await connectToolstack(ctx).detachDevice({ ref: String(domid), kind: 'pci', id: spec, force: o.has('f') }) };
  },
  render: () => '',
});
