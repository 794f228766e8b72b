import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { applyUsbctrlToken, DEVICE_USBCTRL, idlToJson } from '../../config/index.js';
import type { UsbctrlDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl usbctrl-attach <Domain> [type=auto|devicemodel] [version=1|2|3] [ports=N]`: each argument
 * one token of the usbctrl spec (xl's `parse_usbctrl_config`). The controller QEMU emulates
 * (UHCI, EHCI, xHCI; libxl's defaults: version 2, the next devid) is hot-plugged into the
 * running domain (a PCI device the guest sees) and joins its stored config. `type=pv`/`qusb`
 * need Xen's PV USB and are refused. A failure ends with Xen's `libxl_device_usbctrl_add failed.`
 */
export const usbctrlAttachCommand = defineCommand<DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('usbctrl-attach', positional, 1);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const usbctrl: UsbctrlDevice = { devid: -1 };
    for (const token of positional.slice(1)) applyUsbctrlToken(usbctrl, token);
    const attached = connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'vusb', device: idlToJson(DEVICE_USBCTRL, usbctrl) });
    return { data: await deviceOperation(attached, 'libxl_device_usbctrl_add failed.') };
  },
  render: () => '',
});
