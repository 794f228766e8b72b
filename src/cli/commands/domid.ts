import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { domainArg } from '../domain-arg.js';
import type { DomainNameId } from '../domain-arg.js';

/** `xl domid <DomainName>`: the domid of the domain with exactly that name (never a domid). */
export const domidCommand = defineCommand<DomainNameId>({
  async run(ctx, args) {
    const name = domainArg('domid', args);
    const d = (await connectToolstack(ctx).listDomains()).find((x) => x.name === name);
    if (d === undefined) {
      throw new ToolstackError('DOMAIN_NOT_FOUND', `No domain named '${name}'`, {
        lines: [`Can't get domid of domain name '${name}', maybe this domain does not exist.`],
      });
    }
    return { data: { name: d.name, domid: d.domid } };
  },
  render: (v) => `${v.domid}\n`,
});
