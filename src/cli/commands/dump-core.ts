import { connectToolstack } from '../../api/index.js';
import type { CoreDumped } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { fileArgument, getopt, requireArgs } from '../getopt.js';

/**
 * `xl dump-core <Domain> <filename>`: the guest's memory as an ELF core (QMP `dump-guest-memory`:
 * QEMU stops the guest while it writes and resumes it), mode 0600, at the path as xl's working
 * directory names it. A failure ends with xl's `core dump failed (rc=-3)`.
 */
export const dumpCoreCommand = defineCommand<CoreDumped>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('dump-core', p, 2);
    const [ref, file] = p as [string, string];
    try {
      return { data: await connectToolstack(ctx).dumpCore({ ref, file: fileArgument(ctx.cwd, file, 'Cannot dump core') }) };
    } catch (e) {
      if (!isToolstackError(e) || e.code === 'DOMAIN_NOT_FOUND' || e.code === 'DAEMON_UNAVAILABLE') throw e;
      throw new ToolstackError(e.code, e.message, { cause: e, lines: [...(e.lines ?? [e.message]), 'core dump failed (rc=-3)'], ...(e.hint === undefined ? {} : { hint: e.hint }) });
    }
  },
  render: () => '',
});
