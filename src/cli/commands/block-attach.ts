import { connectToolstack, diskToJson, libxlJson, parseDiskSpec } from '../../api/index.js';
import type { DiskDevice } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import type { CommandContext } from '../command.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

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
 * After a successful parse without `-N`: the device would go to a running domain. Devices cannot
 * be hot-plugged yet, so this fails with libxl's `<what> failed.` line and says why.
 */
export async function attachUnavailable(ctx: CommandContext, domid: number, what: string): Promise<never> {
  let exists = true;
  try {
    await connectToolstack({ env: ctx.env, cwd: ctx.cwd }).getDomain({ ref: String(domid) });
  } catch (e: unknown) {
    if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
    exists = false;
  }
  const line = `${what} failed.`;
  if (!exists) {
    throw new ToolstackError('DOMAIN_NOT_FOUND', line, { lines: [line], hint: `domain ${domid} does not exist (xl list); -N checks the spec only` });
  }
  throw new ToolstackError('NOT_SUPPORTED', line, {
    lines: [line],
    hint: 'adding devices to a running domain is not supported yet; put the device in the domain\'s config and restart it',
  });
}

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>...`: the arguments are fragments of one
 * disk spec. With `-N` it prints `disk: <libxl JSON>` as Xen does.
 */
export const blockAttachCommand = defineCommand<DiskDevice>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('block-attach', positional, 2);
    const domain = positional[0] as string;
    const domid = await attachDomid(ctx, domain, `${domain} is an invalid domain identifier`);
    const disk = parseDiskSpec(positional.slice(1));
    if (ctx.dryRun) return { data: disk };
    return attachUnavailable(ctx, domid, 'libxl_device_disk_add');
  },
  render: (disk) => `disk: ${libxlJson(diskToJson(disk))}\n`,
});
