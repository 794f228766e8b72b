import { connectToolstack } from '../../api/index.js';
import { isToolstackError, ToolstackError, usageError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

interface DomnameView {
  readonly domid: number;
  readonly name: string;
}

/** `xl domname <DomainId>`: the name of a domid (parsed as C's strtol, then taken as uint32). */
export const domnameCommand = defineCommand<DomnameView>({
  async run(ctx, args) {
    const [arg] = getopt(args, '').positional;
    if (arg === undefined) throw usageError("'xl domname' requires at least 1 argument.");
    const m = /^\s*([+-]?)(\d+)/.exec(arg);
    if (m === null) throw new ToolstackError('USAGE', 'Invalid domain id', { lines: ['Invalid domain id.', ''] });
    const domid = Number((BigInt.asUintN(32, BigInt(`${m[1]}${m[2]}`))));
    try {
      const d = await connectToolstack(ctx).getDomain({ ref: String(domid) });
      return { data: { domid: d.domid, name: d.name } };
    } catch (e: unknown) {
      if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
      throw new ToolstackError('DOMAIN_NOT_FOUND', e.message, {
        lines: [`Can't get domain name of domain id '${domid}', maybe this domain does not exist.`],
      });
    }
  },
  render: (v) => `${v.name}\n`,
});
