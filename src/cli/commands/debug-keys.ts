import { connectToolstack } from '../../api/index.js';
import type { DebugKeysResult } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl debug-keys <Keys>` (xl_misc.c `main_debug_keys`): each key's handler runs, its output going
 * to dom0's console ring; xl prints nothing (`xl dmesg` shows it; `--json` returns the lines).
 */
export const debugKeysCommand = defineCommand<DebugKeysResult>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('debug-keys', p, 1);
    return { data: await connectToolstack(ctx).sendDebugKeys({ keys: p[0] as string }) };
  },
  render: () => '',
});
