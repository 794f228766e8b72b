import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/** `xl vkb-detach <Domain> <DevId>` (`atoi`): the device leaves the machine and the stored config. */
export const vkbDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('vkb-detach', positional, 2);
    const [domain, id] = positional as [string, string];
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const detached = connectToolstack(ctx).detachDevice({ ref: String(domid), kind: 'vkbd', id });
    return { data: await deviceOperation(detached, 'libxl_device_vkb_remove failed.') };
  },
  render: () => '',
});
