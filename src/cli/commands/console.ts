import { connectToolstack } from '../../api/index.js';
import type { ConsoleAttachment, ConsoleAttachRequest } from '../../api/index.js';
import { ToolstackError, usageError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { DEFAULT_ESCAPE, parseEscape, runConsoleSession } from '../console-session.js';
import type { ConsoleEnd } from '../console-session.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl console [-t pv|serial|vuart] [-n NUM] [-e ESC] <Domain>`: attaches to the domain's
 * console through dom0d (the primary one by default: HVM serial 0, PV/PVH pv 0), replaying what
 * it printed before. Ctrl-] (or ESC) detaches, leaving the guest running. `--json` prints the
 * console's `ConsoleAttachment` (the API's answer) without attaching.
 */
export const consoleCommand = defineCommand<ConsoleAttachment | { readonly ended: ConsoleEnd }>({
  async run(ctx, args) {
    const o = getopt(args, 'n:t:e:');
    requireArgs('console', o.positional, 1);
    const dom = o.positional[0] as string;
    const t = o.value('t');
    if (t !== undefined && t !== 'pv' && t !== 'serial' && t !== 'vuart') {
      throw new ToolstackError('USAGE', `console type supported are: pv, serial, vuart (not '${t}')`, { lines: ['console type supported are: pv, serial, vuart'] });
    }
    const n = o.value('n');
    const num = n === undefined ? undefined : Number.parseInt(n, 10);
    if (num !== undefined && (!Number.isInteger(num) || num < 0)) throw usageError(`Invalid console number '${n ?? ''}'`, 'give -n 0, 1, ...');
    const escapeArg = o.value('e');
    const escape = escapeArg === undefined ? DEFAULT_ESCAPE : parseEscape(escapeArg);
    const req: ConsoleAttachRequest = {
      ref: dom,
      ...(t === undefined ? {} : { type: t, num: num ?? 0 }),
    };
    if (ctx.json) return { data: await connectToolstack(ctx).attachConsole(req) };
    return { data: { ended: await runConsoleSession(ctx, req, escape) } };
  },
});
