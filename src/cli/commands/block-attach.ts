import { ToolstackError, usageError } from '../../common/index.js';
import { diskToJson, libxlJson, parseDiskSpec } from '../../api/index.js';
import type { DiskDevice } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>...`: the arguments are fragments of one
 * disk spec. With `-N` it prints `disk: <libxl JSON>` as Xen does; attaching to a running domain
 * is not available yet, so without `-N` it fails after parsing.
 */
export const blockAttachCommand = defineCommand<DiskDevice>({
  name: 'block-attach',
  summary: 'Create a new virtual block device',
  usage: '<Domain> <disk-spec-component(s)>...',
  canDryRun: true,
  modifies: true,
  run(ctx, args) {
    const { positional } = getopt(args, '');
    if (positional.length < 2) throw usageError('\'xl block-attach\' requires at least 2 arguments.');
    const domain = positional[0] as string;
    // libxl_domain_qualifier_to_domid: all digits is a domid; anything else is a name to look up.
    if (!/^\d*$/.test(domain)) {
      throw new ToolstackError('DOMAIN_NOT_FOUND', `${domain} is an invalid domain identifier`, {
        lines: [`${domain} is an invalid domain identifier`],
        hint: 'no domain of that name is running; give a running domain\'s name or id (xl list)',
      });
    }
    const disk = parseDiskSpec(positional.slice(1));
    if (ctx.dryRun) return Promise.resolve({ data: disk });
    throw new ToolstackError('DOMAIN_NOT_FOUND', 'libxl_device_disk_add failed.', {
      lines: ['libxl_device_disk_add failed.'],
      hint: `domain ${domain} is not running; use -N to check the disk spec only`,
    });
  },
  render: (disk) => `disk: ${libxlJson(diskToJson(disk))}\n`,
});
