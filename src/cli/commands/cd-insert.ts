import type { MediaChanged } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { changeCdrom } from '../device-attach.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl cd-insert <Domain> <VirtualDevice> <path>`: puts the image at `path` (raw: an ISO, or a
 * block device) into the HVM domain's CD-ROM drive `VirtualDevice` (the old medium comes out,
 * the guest sees a media change) and into its stored config. Prints nothing.
 */
export const cdInsertCommand = defineCommand<MediaChanged>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('cd-insert', p, 3);
    const [ref, vdev, path] = p as [string, string, string];
    const data = await changeCdrom(ctx, ref, vdev, path);
    return data === undefined ? {} : { data };
  },
  render: () => '',
});
