import type { XenstoreQuota } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { parseXsQuotaItem } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { quotaRequest, quotaScope } from '../xenstore-quota.js';

/**
 * `xl xenstore-quota-set <Domain>|-g <quota>=<val>...` (xl_xsquota.c): every item is parsed
 * first (xl's lines for a bad one), then set in order with SET_QUOTA; the first xenstored
 * refuses ends it (`Quota could not be set.`, exit 1), those before it stay set. Prints nothing;
 * `--json` gives the quotas after. Arguments are read without option parsing, as xl does.
 */
export const xenstoreQuotaSetCommand = defineCommand<readonly XenstoreQuota[]>({
  async run(ctx, args) {
    if (args.length < 2) throw new ToolstackError('USAGE_ARGS', 'Not enough parameters.', { lines: ['Not enough parameters.'] });
    const quotas = args.slice(1).map(parseXsQuotaItem);
    return { data: await quotaRequest(ctx, 'Quota could not be set.', async (api) => api.setXenstoreQuota({ ...await quotaScope(api, args[0] as string), quotas })) };
  },
  render: () => '',
});
