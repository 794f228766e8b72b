import { connectToolstack } from '../api/index.js';
import type { ToolstackApi, XenstoreQuotaScope } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { CommandContext } from './command.js';
import { findDomain } from './domain-arg.js';

/**
 * The first argument of `xl xenstore-quota-get/-set` (xl_xsquota.c): `-g` is xenstored's global
 * quotas, anything else a domain as xl's find_domain reads it (a name must exist; a domid is
 * left to xenstored, which knows the domains it was introduced to).
 */
export async function quotaScope(api: ToolstackApi, arg: string): Promise<XenstoreQuotaScope> {
  if (arg === '-g') return { scope: 'global' };
  return { scope: /^\d+$/.test(arg) ? Number(arg) : findDomain(await api.listDomains(), arg).domid };
}

/** Runs a quota request; xenstored's refusal becomes xl's one line (`line`), exit 1. */
export async function quotaRequest<T>(ctx: CommandContext, line: string, request: (api: ToolstackApi) => Promise<T>): Promise<T> {
  try {
    return await request(connectToolstack(ctx));
  } catch (e: unknown) {
    if (!isToolstackError(e, 'XS_PROTOCOL')) throw e;
    throw new ToolstackError('XS_PROTOCOL', e.message, { lines: [line], cause: e, hint: `${e.message} (ENOENT: xenstored knows no such domain; EINVAL: no such quota, xl xenstore-quota-get -g lists them)` });
  }
}
