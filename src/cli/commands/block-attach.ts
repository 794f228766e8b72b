import { DEVICE_DISK, idlToJson, libxlJson, parseDiskSpec } from '../../config/index.js';
import type { DiskDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { attachUnavailable } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>...`: the arguments are fragments of one
 * disk spec. With `-N` it prints `disk: <libxl JSON>` as Xen does.
 */
export const blockAttachCommand = defineCommand<DiskDevice>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('block-attach', positional, 2);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier`);
    const disk = parseDiskSpec(positional.slice(1));
    if (ctx.dryRun) return { data: disk };
    return attachUnavailable(ctx, domid, 'libxl_device_disk_add');
  },
  render: (disk) => `disk: ${libxlJson(idlToJson(DEVICE_DISK, disk))}\n`,
});
