import { connectToolstack } from '../api/index.js';
import type { DomainInfo, DomainRefRequest, ToolstackApi } from '../api/index.js';
import { isToolstackError } from '../common/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { domainArg } from './domain-arg.js';

/**
 * `xl pause|unpause|suspend|resume <Domain>`: `op` stops or resumes the vCPUs (QMP `stop` /
 * `cont`; suspend also shuts the domain down with reason suspend). Prints nothing. As in xl, a
 * domain that cannot be found fails (exit 1), but the operation's own failure (already paused,
 * not paused, not suspended, its twin across a migration running) is reported and exits 0.
 */
export function pauseLike(
  name: 'pause' | 'unpause' | 'suspend' | 'resume',
  op: (api: ToolstackApi, req: DomainRefRequest) => Promise<DomainInfo>,
): CommandImpl {
  return defineCommand<DomainInfo>({
    async run(ctx, args) {
      const ref = domainArg(name, args);
      try {
        return { data: await op(connectToolstack(ctx), { ref }) };
      } catch (e) {
        if (!isToolstackError(e) || e.code !== 'DOMAIN_STATE') throw e;
        ctx.warn(e.message);
        if (e.hint !== undefined) ctx.warn(`hint: ${e.hint}`);
        return {};
      }
    },
    render: () => '',
  });
}
