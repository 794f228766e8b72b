import type { CommandDefinition } from './command.js';
import { helpCommand } from './commands/help.js';
import { createCommand } from './commands/create.js';
import { configParseCommand } from './commands/config-parse.js';
import { blockAttachCommand } from './commands/block-attach.js';
import { networkAttachCommand } from './commands/network-attach.js';
import { listCommand } from './commands/list.js';
import { domidCommand } from './commands/domid.js';
import { domnameCommand } from './commands/domname.js';
import { uptimeCommand } from './commands/uptime.js';
import { destroyCommand } from './commands/destroy.js';
import { shutdownCommand } from './commands/shutdown.js';
import { rebootCommand } from './commands/reboot.js';
import { pauseCommand } from './commands/pause.js';
import { unpauseCommand } from './commands/unpause.js';
import { renameCommand } from './commands/rename.js';
import { consoleCommand } from './commands/console.js';
import { vncviewerCommand } from './commands/vncviewer.js';
import { triggerCommand } from './commands/trigger.js';
import { sysrqCommand } from './commands/sysrq.js';

/**
 * Every `xl` subcommand, in the order `xl help` lists them (Xen's cmdtable order, then ours).
 * Add a command by adding its file under `commands/` and one line here.
 */
const COMMANDS: readonly CommandDefinition[] = [
  createCommand,
  listCommand,
  destroyCommand,
  shutdownCommand,
  rebootCommand,
  pauseCommand,
  unpauseCommand,
  consoleCommand,
  vncviewerCommand,
  renameCommand,
  triggerCommand,
  sysrqCommand,
  helpCommand,
  domidCommand,
  domnameCommand,
  networkAttachCommand,
  blockAttachCommand,
  uptimeCommand,
  configParseCommand,
];

export function commandTable(): readonly CommandDefinition[] {
  return COMMANDS;
}

/** Xen's `cmdtable_lookup`: an exact name, else the one command the prefix names. */
export function lookupCommand(name: string): CommandDefinition | undefined {
  const exact = COMMANDS.find((c) => c.name === name);
  if (exact !== undefined) return exact;
  const matches = COMMANDS.filter((c) => c.name.startsWith(name));
  return matches.length === 1 ? matches[0] : undefined;
}
