import { connectToolstack } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { CommandContext } from './command.js';

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
