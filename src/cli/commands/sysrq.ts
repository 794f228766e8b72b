import { connectToolstack } from '../../api/index.js';
import type { SysrqResult } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl sysrq <Domain> <letter>`: writes the letter to the domain's `control/sysrq` (Xen's PV
 * protocol) and, since guests here are not Xen guests, presses Alt+SysRq+letter on the guest's
 * keyboard (QMP `send-key`); the kernel acts if its sysrq mask allows that command.
 */
export const sysrqCommand = defineCommand<SysrqResult>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('sysrq', p, 2);
    const [dom, key] = p as [string, string];
    if ([...key].length !== 1) throw new ToolstackError('USAGE_ARGS', 'Invalid sysrq.', { lines: ['Invalid sysrq.', ''] });
    return { data: await connectToolstack(ctx).sendSysrq({ ref: dom, key }) };
  },
  render: () => '',
});
