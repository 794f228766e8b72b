import type { MediaChanged } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { changeCdrom } from '../device-attach.js';
import { getopt, requireArgs } from '../getopt.js';

/** `xl cd-eject <Domain> <VirtualDevice>`: empties the HVM domain's CD-ROM drive (and its stored config). Prints nothing. */
export const cdEjectCommand = defineCommand<MediaChanged>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('cd-eject', p, 2);
    const [ref, vdev] = p as [string, string];
    const data = await changeCdrom(ctx, ref, vdev, '');
    return data === undefined ? {} : { data };
  },
  render: () => '',
});
