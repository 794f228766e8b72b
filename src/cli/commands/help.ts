import { defineCommand, FailureOnStdout } from '../command.js';
import { lookupCommand } from '../command-table.js';
import { commandHelp, fullHelp } from '../help.js';

/** `xl help [CMD]`: the full list, or one command's usage, in Xen's layout. */
export const helpCommand = defineCommand<string>({
  run(_ctx, args) {
    const name = args[0];
    if (name === undefined) return Promise.resolve({ data: fullHelp() });
    const cmd = lookupCommand(name);
    if (cmd === undefined) {
      throw new FailureOnStdout('COMMAND_NOT_IMPLEMENTED', `No xl subcommand '${name}'`, `command "${name}" not implemented\n`, { lines: [] });
    }
    return Promise.resolve({ data: commandHelp(cmd) });
  },
  render: (text) => text,
});
