import { connectToolstack } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { domainArg } from '../domain-arg.js';
import type { DomainNameId } from '../domain-arg.js';

/** `xl domname <DomainId>`: the name of a domid (parsed as C's strtol, then taken as uint32). */
export const domnameCommand = defineCommand<DomainNameId>({
  async run(ctx, args) {
    const m = /^\s*([+-]?)(\d+)/.exec(domainArg('domname', args));
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
