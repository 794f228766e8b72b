import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl network-detach <Domain> <DevId|mac>`: an argument with a `:` names the vif by MAC, any other
 * by devid (`atoi`); `Unknown device X.` when the domain has none. The guest is asked to release
 * the NIC (ACPI unplug) and dom0 waits for it (libxl_device_nic_remove), then the tap, its rate
 * limit and anti-spoofing rules go and the script runs `offline`. Prints nothing.
 */
export const networkDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('network-detach', positional, 2);
    const [ref, id] = positional as [string, string];
    const detached = connectToolstack(ctx).detachDevice({ ref, kind: 'vif', id });
    return { data: await deviceOperation(detached, 'libxl_device_nic_del failed.') };
  },
  render: () => '',
});
