import { connectToolstack } from '../../api/index.js';
import type { DmesgText } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl dmesg [-c]` (xl_misc.c `main_dmesg`): dom0's console ring as it is, oldest line first —
 * dom0d's own `(XEN)` lines and each guest's debug port 0xe9 output as `(dN)` lines; `-c` (or
 * `--clear`) empties it after reading.
 */
export const dmesgCommand = defineCommand<DmesgText>({
  async run(ctx, args) {
    const p = getopt(args, 'c', [{ name: 'clear', hasArg: false, short: 'c' }]);
    return { data: await connectToolstack(ctx).readDmesg({ clear: p.has('c') }) };
  },
  render: (d) => d.text,
});
