import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { applyUsbdevToken, DEVICE_USBDEV, idlToJson } from '../../config/index.js';
import type { UsbdevDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl usbdev-attach <Domain> hostbus=<busnum> hostaddr=<devnum> [controller=<DevId> [port=<port>]]`:
 * each argument one token of the usbdev spec (xl's `parse_usbdev_config`). The host's device
 * (`/dev/bus/usb/BBB/DDD`, which must exist: else one line saying so) goes to QEMU's usb-host on
 * the controller and port libxl picks (the first free port; a new controller when none is free)
 * and joins the stored config. A failure ends with Xen's `libxl_device_usbdev_add failed.`
 */
export const usbdevAttachCommand = defineCommand<DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('usbdev-attach', positional, 2);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const usbdev: UsbdevDevice = {};
    for (const token of positional.slice(1)) applyUsbdevToken(usbdev, token);
    // libxl's default type; its JSON carries the host bus and address only with one.
    usbdev.type ??= 'hostdev';
    const attached = connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'usbdev', device: idlToJson(DEVICE_USBDEV, usbdev) });
    return { data: await deviceOperation(attached, 'libxl_device_usbdev_add failed.') };
  },
  render: () => '',
});
