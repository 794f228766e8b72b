import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl block-detach [-f|--force] <Domain> <DevId>` (`DevId`: the vdev or its number, as
 * `block-list` prints it). The guest is asked to release the disk (ACPI unplug) and dom0 waits
 * for it, 10 s at most (libxl_device_disk_safe_remove); with `-f` the disk leaves the domain's
 * config and xenstore after a short grace even if the guest holds on (QEMU frees it when the
 * guest lets go). Prints nothing; `Error: Device X not connected.` when the domain has no such disk.
 */
export const blockDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const o = getopt(args, 'f', [{ name: 'force', hasArg: false, short: 'f' }]);
    requireArgs('block-detach', o.positional, 2);
    const [ref, id] = o.positional as [string, string];
    const force = o.has('f');
    const detached = connectToolstack(ctx).detachDevice({ ref, kind: 'vbd', id, force });
    return { data: await deviceOperation(detached, `libxl_device_disk_${force ? 'destroy' : 'safe_remove'} failed.`) };
  },
  render: () => '',
});
