import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { DEVICE_DISK, idlToJson, libxlJson, parseDiskSpec, withAbsolutePaths } from '../../config/index.js';
import type { DiskDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { deviceOperation } from '../device-attach.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>...`: the arguments are fragments of one
 * disk spec. With `-N` it prints `disk: <libxl JSON>` as Xen does; without, the disk (its path
 * made absolute against xl's directory) goes to the running domain and into its stored config,
 * printing nothing (`--json`: the disk as `block-list` shows it). A disk the guest can take live
 * is a virtio disk (every disk of a PV or PVH domain; `xvde` and beyond on HVM).
 */
export const blockAttachCommand = defineCommand<DiskDevice | DeviceInfo>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('block-attach', positional, 2);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier`);
    const disk = parseDiskSpec(positional.slice(1));
    if (ctx.dryRun) return { data: disk };
    const device = withAbsolutePaths({ disks: [disk] }, ctx.cwd).disks?.[0] ?? disk;
    const attached = connectToolstack(ctx).attachDevice({ ref: String(domid), kind: 'vbd', device: idlToJson(DEVICE_DISK, device) });
    const info = await deviceOperation(attached, 'libxl_device_disk_add failed.');
    for (const w of info.warnings ?? []) ctx.warn(w);
    return { data: info };
  },
  render: (d) => ('backendPath' in d ? '' : `disk: ${libxlJson(idlToJson(DEVICE_DISK, d))}\n`),
});
