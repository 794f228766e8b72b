import { defineCommand } from '../command.js';
import type { CommandDefinition } from '../command.js';
import { commandTable, lookupCommand } from '../command-table.js';

/** `xl help [CMD]`: the full list, or one command's usage, in Xen's layout. */
export const helpCommand = defineCommand<string>({
  name: 'help',
  summary: 'Print this help',
  usage: '[command]',
  canDryRun: false,
  modifies: false,
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

export function commandHelp(c: CommandDefinition): string {
  let out = `Usage: xl [-vtT${c.modifies ? 'f' : ''}${c.canDryRun ? 'N' : ''}] ${c.name} ${c.usage}\n\n${c.summary}.\n\n`;
  if (c.optionsHelp !== undefined && c.optionsHelp !== '') out += `Options:\n\n${c.optionsHelp}\n`;
  return out;
}
