import { BugError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import type { CommandSpec } from '../command.js';
import { commandTable, lookupCommand } from '../command-table.js';

/** `xl help [CMD]`: the full list, or one command's usage, in Xen's layout. */
export const helpCommand = defineCommand<string>({
  run(_ctx, args) {
    const name = args[0];
    if (name === undefined) return Promise.resolve({ data: fullHelp() });
    const cmd = lookupCommand(name);
    if (cmd === undefined) return Promise.resolve({ data: `command "${name}" not implemented\n`, exitCode: 1 });
    return Promise.resolve({ data: commandHelp(cmd) });
  },
  render: (text) => text,
});

export function fullHelp(): string {
  let out = 'Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n';
  for (const c of commandTable()) {
    out += ` ${c.name.padEnd(19)} `;
    if (c.name.length > 19) out += `\n ${''.padEnd(19)} `;
    out += `${c.summary}\n`;
  }
  return out;
}

export function commandHelp(c: CommandSpec): string {
  let out = `Usage: xl [-vtT${c.modifies ? 'f' : ''}${c.canDryRun ? 'N' : ''}] ${c.name} ${c.usage}\n\n${c.summary}.\n\n`;
  if (c.optionsHelp !== undefined && c.optionsHelp !== '') out += `Options:\n\n${c.optionsHelp}\n`;
  return out;
}

/** `xl help NAME`'s text for a command of the table (commands that print their own help). */
export function helpFor(name: string): string {
  const c = lookupCommand(name);
  if (c?.name !== name) throw new BugError(`no command '${name}' in the command table`);
  return commandHelp(c);
}
