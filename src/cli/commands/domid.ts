import { connectToolstack } from '../../api/index.js';
import { ToolstackError, usageError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

interface DomidView {
  readonly name: string;
  readonly domid: number;
}

/** `xl domid <DomainName>`: the domid of the domain with exactly that name (never a domid). */
export const domidCommand = defineCommand<DomidView>({
  async run(ctx, args) {
    const [name] = getopt(args, '').positional;
    if (name === undefined) throw usageError("'xl domid' requires at least 1 argument.");
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
