import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl usbctrl-detach <Domain> <DevId>` (`atoi`): the controller is unplugged (the guest releases
 * it, ACPI) with the USB devices on it, and leaves the stored config with them. `Unknown device
 * X.` when the domain has no such controller.
 */
export const usbctrlDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('usbctrl-detach', positional, 2);
    const [domain, id] = positional as [string, string];
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const detached = connectToolstack(ctx).detachDevice({ ref: String(domid), kind: 'vusb', id });
    return { data: await deviceOperation(detached, 'libxl_device_usbctrl_remove failed.') };
  },
  render: () => '',
});
