import type { XenstoreQuota } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { quotaRequest, quotaScope } from '../xenstore-quota.js';

/**
 * `xl xenstore-quota-get <Domain>|-g` (xl_xsquota.c): every quota dom0d's xenstored supports
 * (GET_QUOTA), globally or for one domain, in xl's table. Exactly one argument, read without
 * option parsing (`-h` is a domain name), as xl does.
 */
export const xenstoreQuotaGetCommand = defineCommand<readonly XenstoreQuota[]>({
  async run(ctx, args) {
    const arg = args[0];
    if (arg === undefined || args.length !== 1) {
      const line = 'Domain or "-g" must be specified.';
      throw new ToolstackError('USAGE', line, { lines: [line] });
    }
    return { data: await quotaRequest(ctx, 'Quota could not be obtained.', async (api) => api.getXenstoreQuota(await quotaScope(api, arg))) };
  },
  render: (quotas) =>
    `Quota name           Quota value\n--------------------------------\n${quotas.map((q) => `${q.name.padEnd(20)} ${String(q.value).padStart(8)}\n`).join('')}`,
});
