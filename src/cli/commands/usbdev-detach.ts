import { connectToolstack } from '../../api/index.js';
import type { DeviceDetached } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { atoi } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl usbdev-detach <Domain> <controller> <port>` (each `atoi`): the host USB device on that
 * port leaves the domain and its stored config. `Unknown device at controller C port P.` when
 * the port is empty; a fourth argument is xl's `Invalid arguments.`
 */
export const usbdevDetachCommand = defineCommand<DeviceDetached>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('usbdev-detach', positional, 3);
    const [domain, ctrl, port] = positional as [string, string, string];
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    if (positional.length > 3) throw new ToolstackError('USAGE', 'Invalid arguments.', { lines: ['Invalid arguments.'], hint: 'usbdev-detach takes a domain, a controller and a port' });
    const detached = connectToolstack(ctx).detachDevice({ ref: String(domid), kind: 'usbdev', id: `${atoi(ctrl)}:${atoi(port)}` });
    return { data: await deviceOperation(detached, 'libxl_device_usbdev_remove failed.') };
  },
  render: () => '',
});
