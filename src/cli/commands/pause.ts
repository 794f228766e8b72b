import { connectToolstack } from '../../api/index.js';
import type { DomainInfo, DomainRefRequest, ToolstackApi } from '../../api/index.js';
import { isToolstackError } from '../../common/index.js';
import type { CommandImpl } from '../command.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl pause <Domain>` and (through `pauseLike`) `xl unpause <Domain>`: stop or resume the vCPUs
 * (QMP `stop` / `cont`). Print nothing. As in xl, a domain that cannot be found fails (exit 1),
 * but the operation's own failure (already paused, not paused) is reported and exits 0.
 */
export function pauseLike(
  name: 'pause' | 'unpause',
  op: (api: ToolstackApi, req: DomainRefRequest) => Promise<DomainInfo>,
): CommandImpl {
  return defineCommand<DomainInfo>({
    async run(ctx, args) {
      const o = getopt(args, '');
      requireArgs(name, o.positional, 1);
      try {
        return { data: await op(connectToolstack(ctx), { ref: o.positional[0] as string }) };
      } catch (e) {
        if (!isToolstackError(e) || e.code !== 'DOMAIN_STATE') throw e;
        ctx.warn(e.message);
        return {};
      }
    },
    render: () => '',
  });
}

export const pauseCommand = pauseLike('pause', (api, req) => api.pauseDomain(req));
