import type { CommandSpec } from './command.js';
import { commandTable } from './command-table.js';

/** `xl help`: Xen's full list of subcommands (`Usage xl [-vfNtT] ...`, one ` %-19s desc` line each). */
export function fullHelp(): string {
  let out = 'Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n';
  for (const c of commandTable()) {
    out += ` ${c.name.padEnd(19)} `;
    if (c.name.length > 19) out += `\n ${''.padEnd(19)} `;
    out += `${c.summary}\n`;
  }
  return out;
}

/** `xl help CMD`: Xen's usage block of one command (flags, usage, summary, then its options). */
export function commandHelp(c: CommandSpec): string {
  let out = `Usage: xl [-vtT${c.modifies ? 'f' : ''}${c.canDryRun ? 'N' : ''}] ${c.name} ${c.usage}\n\n${c.summary}.\n\n`;
  if (c.optionsHelp !== undefined) out += `Options:\n\n${c.optionsHelp}\n`;
  return out;
}
