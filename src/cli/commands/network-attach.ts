import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { DEVICE_NIC, idlToJson, libxlJson, parseVifArgs } from '../../config/index.js';
import type { NicDevice, VifDefaults } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';
import { xlConfOf } from '../saved-config.js';

/**
 * `xl network-attach <Domain> [key=value]...`: each argument is one vif-spec token, applied over
 * xl.conf's `vif.default.*`. With `-N` it prints `vif: <libxl JSON>` as Xen does; without, the vif
 * goes to the running domain (libxl's defaults: the next devid, a generated MAC) and into its
 * stored config, printing nothing (`--json`: the vif as `network-list` shows it). A failure ends
 * with Xen's `libxl_device_nic_add failed.`
 */
export const networkAttachCommand = defineCommand<NicDevice | DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('network-attach', positional, 1);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
    const xlConf = xlConfOf(ctx);
    const defaults: VifDefaults = {
      ...(xlConf.vifDefaultScript === undefined ? {} : { script: xlConf.vifDefaultScript }),
      ...(xlConf.vifDefaultBridge === undefined ? {} : { bridge: xlConf.vifDefaultBridge }),
      ...(xlConf.vifDefaultGatewaydev === undefined ? {} : { gatewaydev: xlConf.vifDefaultGatewaydev }),
      ...(xlConf.vifDefaultBackend === undefined ? {} : { backend: xlConf.vifDefaultBackend }),
    };
    const notices: string[] = [];
    let nic: NicDevice;
    try {
      nic = parseVifArgs(positional.slice(1), { defaults }, notices);
    } finally {
      for (const n of notices) ctx.warn(n);
    }
    if (ctx.dryRun) return { data: nic };
    const attached = connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'vif', device: idlToJson(DEVICE_NIC, nic) });
    return { data: await deviceOperation(attached, 'libxl_device_nic_add failed.') };
  },
  render: (d) => ('backendPath' in d ? '' : `vif: ${libxlJson(idlToJson(DEVICE_NIC, d))}\n`),
});
