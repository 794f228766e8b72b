import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { applyVkbToken, DEVICE_VKB, finishVkb, idlToJson } from '../../config/index.js';
import type { VkbDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl vkb-attach <Domain> <vkb-spec-component(s)>...`: each argument one token of the vkb spec
 * (xl's `parse_vkb_config`; `backend-type` must be set). The device — a virtio keyboard, or the
 * pointer alone with `feature-disable-keyboard=1` — is hot-plugged into the running domain and
 * joins its stored config. A failure ends with Xen's `libxl_device_vkb_add failed.`
 */
export const vkbAttachCommand = defineCommand<DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('vkb-attach', positional, 1);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const vkb: VkbDevice = { devid: -1 };
    for (const token of positional.slice(1)) applyVkbToken(vkb, token);
    finishVkb(vkb);
    const attached = connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'vkbd', device: idlToJson(DEVICE_VKB, vkb) });
    return { data: await deviceOperation(attached, 'libxl_device_vkb_add failed.') };
  },
  render: () => '',
});
