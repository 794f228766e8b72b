import { connectToolstack } from '../api/index.js';
import type { DomainIdentity, DomainInfo } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { CommandContext } from './command.js';
import { getopt, requireArgs } from './getopt.js';

/** What `xl domid` and `xl domname` answer: one domain's id and name. */
export type DomainNameId = Pick<DomainIdentity, 'domid' | 'name'>;

/**
 * The `<Domain>` argument of a command that takes exactly that (no options, as xl's
 * `SWITCH_FOREACH_OPT` with ""): missing is `'xl NAME' requires at least 1 argument.` (exit 2).
 */
export function domainArg(name: string, args: readonly string[]): string {
  const { positional } = getopt(args, '');
  requireArgs(name, positional, 1);
  return positional[0] as string;
}

/**
 * xl's `find_domain` over the domains dom0d lists: all decimal digits (or none) is that domid, which need
 * not exist (`domain` is then undefined: the command meets the missing domain as Xen's does); a
 * name must be a domain's, else `NAME is an invalid domain identifier (rc=-6)` (exit 1).
 */
export function findDomain(domains: readonly DomainInfo[], ref: string): { readonly domid: number; readonly domain: DomainInfo | undefined } {
  if (/^\d*$/.test(ref)) {
    const domid = Number(ref); // '' as 0, as libxl_domain_qualifier_to_domid reads it
    return { domid, domain: domains.find((d) => d.domid === domid) };
  }
  const domain = domains.find((d) => d.name === ref);
  if (domain === undefined) {
    throw new ToolstackError('DOMAIN_NOT_FOUND', `No domain named '${ref}'`, { lines: [`${ref} is an invalid domain identifier (rc=-6)`] });
  }
  return { domid: domain.domid, domain };
}

/**
 * The domain argument of the attach commands, as libxl's `libxl_domain_qualifier_to_domid`:
 * all digits is a domid (not checked here, as in Xen); `Domain-0` is 0; any other name must be a
 * domain dom0d knows. A dry run never starts dom0d: with none running, no name resolves.
 * `invalid` is the command's Xen line for a name that does not resolve.
 */
export async function attachDomid(ctx: CommandContext, ref: string, invalid: string): Promise<number> {
  if (/^\d*$/.test(ref)) return ref === '' ? 0 : Number(ref);
  if (ref === 'Domain-0') return 0;
  try {
    return (await connectToolstack({ env: ctx.env, cwd: ctx.cwd, autostart: !ctx.dryRun }).getDomain({ ref })).domid;
  } catch (e: unknown) {
    if (!isToolstackError(e, 'DOMAIN_NOT_FOUND') && !isToolstackError(e, 'DAEMON_UNAVAILABLE')) throw e;
    throw new ToolstackError('DOMAIN_NOT_FOUND', invalid, {
      lines: [invalid],
      hint: 'no domain of that name exists; give a domain\'s name or id (xl list)',
    });
  }
}

/**
 * One domain as `xl list DOMAIN` and `xl sharing DOMAIN` get it: a missing domid is their own
 * `Error: Domain '%s' does not exist.`; a missing name fails as xl's find_domain.
 */
export async function getListed(get: () => Promise<DomainInfo>, ref: string): Promise<DomainInfo> {
  try {
    return await get();
  } catch (e: unknown) {
    if (isToolstackError(e, 'DOMAIN_NOT_FOUND') && e.lines === undefined) {
      throw new ToolstackError('DOMAIN_NOT_FOUND', e.message, { lines: [`Error: Domain '${ref}' does not exist.`] });
    }
    throw e;
  }
}

/**
 * `xl *-list <Domain(s)>` over `refs` (at least one, else xl's usage error for `command`): each
 * domain's rows in order. A name that is no domain gets Xen's stderr line and the others are still
 * listed (exit 0); a domid with no domain lists nothing.
 */
export async function rowsOfDomains<T>(ctx: CommandContext, command: string, args: readonly string[], rows: (ref: string) => Promise<readonly T[]>): Promise<T[]> {
  const { positional } = getopt(args, '');
  requireArgs(command, positional, 1);
  const out: T[] = [];
  for (const ref of positional) {
    try {
      out.push(...await rows(ref));
    } catch (e: unknown) {
      if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
      if (!/^\d+$/.test(ref)) ctx.warn(`${ref} is an invalid domain identifier`);
    }
  }
  return out;
}
