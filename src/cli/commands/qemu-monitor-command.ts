import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl qemu-monitor-command <Domain> <Command>`: a human-monitor (HMP) command to the domain's
 * QEMU through dom0d's QMP connection; prints its output and a newline, as xl. Exactly two
 * arguments, else xl's `Invalid arguments.`.
 */
export const qemuMonitorCommand = defineCommand<{ readonly output: string }>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    if (p.length !== 2) throw new ToolstackError('USAGE', 'Invalid arguments.', { lines: ['Invalid arguments.'], hint: 'xl qemu-monitor-command <Domain> "<Command>" (quote a command with spaces)' });
    const [ref, command] = p as [string, string];
    return { data: await connectToolstack(ctx).monitorCommand({ ref, command }) };
  },
  render: (d) => `${d.output}\n`,
});
