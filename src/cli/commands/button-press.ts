import { connectToolstack } from '../../api/index.js';
import type { TriggerResult } from '../../api/index.js';
import { BugError, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { lookupCommand } from '../command-table.js';
import { findDomain } from '../domain-arg.js';
import { getopt, helpRequested, requireArgs } from '../getopt.js';
import { commandHelp } from '../help.js';
import { triggerCommand } from './trigger.js';

type ButtonPressView = { readonly help: string } | TriggerResult;

/**
 * `xl button-press <Domain> <power|sleep>`: deprecated; warns (before anything else, even
 * `-h`, as xl does) and then is `xl trigger <Domain> <power|sleep>`, outcome and all.
 */
export const buttonPressCommand = defineCommand<ButtonPressView>({
  async run(ctx, args) {
    ctx.warn('WARNING: "button-press" is deprecated. Please use "trigger"');
    if (helpRequested(args)) {
      const spec = lookupCommand('button-press');
      if (spec === undefined) throw new BugError('button-press is not in the command table');
      return { data: { help: commandHelp(spec) } };
    }
    const p = getopt(args, '').positional;
    requireArgs('button-press', p, 2);
    const [dom, button] = p as [string, string];
    if (button !== 'power' && button !== 'sleep') {
      // xl resolves the domain before it looks at the button.
      if (!/^\d+$/.test(dom)) findDomain(await connectToolstack(ctx).listDomains(), dom);
      const line = `${button} is an invalid button identifier`;
      throw new ToolstackError('USAGE', line, { lines: [line], hint: 'the buttons are power and sleep' });
    }
    const result = await triggerCommand.run(ctx, [dom, button]);
    return { data: result.data as TriggerResult };
  },
  render: (v) => ('help' in v ? v.help : ''),
});
