import type { CommandSpec } from './command.js';

const CREATE_OPTIONS = [
  '-c                      Connect to the console after the domain is created.',
  '-d                      Enable debug messages.',
  '-e                      Do not wait in the background for the death of the domain.',
  '-F                      Run in foreground until death of the domain.',
  '-f FILE, --defconfig=FILE\n                     Use the given configuration file.',
  '-h                      Print this help.',
  '-n, --dryrun            Dry run - prints the resulting configuration\n                         (deprecated in favour of global -N option).',
  '-p                      Leave the domain paused after it is created.',
  '-q, --quiet             Quiet.',
  '-V, --vncviewer         Connect to the VNC display after the domain is created.',
  '-A, --vncviewer-autopass\n                        Pass VNC password to viewer via stdin.',
  '--ignore-global-affinity-masks Ignore global masks in xl.conf.',
].join('\n');

const SHUTDOWN_OPTIONS = '-a, --all               Shutdown all guest domains.\n' +
  '-h                      Print this help.\n' +
  '-F                      Fallback to ACPI power event for HVM guests with\n' +
  '                        no PV drivers.\n' +
  '-w, --wait              Wait for guest(s) to shutdown.\n';

/**
 * Every `xl` subcommand, in the order `xl help` lists them (Xen's cmdtable order, then ours): what
 * `xl help` and the dispatcher need (Xen's `cmd_spec`), and how to load the command itself. A
 * command's module is loaded only when it runs, so `xl` starts by reading this table alone.
 * Add a command by adding its file under `commands/` and one entry here.
 */
const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'create',
    summary: 'Create a domain from config file <filename>',
    usage: '<ConfigFile> [options] [vars]',
    optionsHelp: CREATE_OPTIONS,
    canDryRun: true,
    modifies: true,
    load: async () => (await import('./commands/create.js')).createCommand,
  },
  {
    name: 'list',
    summary: 'List information about all/some domains',
    usage: '[options] [Domain]\n',
    optionsHelp: '-l, --long              Output all VM details\n' +
      '-v, --verbose           Prints out UUIDs and security context\n' +
      '-Z, --context           Prints out security context\n' +
      '-c, --cpupool           Prints the cpupool the domain is in\n' +
      '-n, --numa              Prints out NUMA node affinity',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/list.js')).listCommand,
  },
  {
    name: 'destroy',
    summary: 'Terminate a domain immediately',
    usage: '[options] <Domain>',
    optionsHelp: '-f                      Permit destroying domain 0.',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/destroy.js')).destroyCommand,
  },
  {
    name: 'shutdown',
    summary: 'Issue a shutdown signal to a domain',
    usage: '[options] <-a|Domain>',
    optionsHelp: SHUTDOWN_OPTIONS,
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/shutdown.js')).shutdownCommand,
  },
  {
    name: 'reboot',
    summary: 'Issue a reboot signal to a domain',
    usage: '[options] <-a|Domain>',
    optionsHelp: SHUTDOWN_OPTIONS,
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/reboot.js')).rebootCommand,
  },
  {
    name: 'pause',
    summary: 'Pause execution of a domain',
    usage: '<Domain>',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/pause.js')).pauseCommand,
  },
  {
    name: 'unpause',
    summary: 'Unpause a paused domain',
    usage: '<Domain>',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/unpause.js')).unpauseCommand,
  },
  {
    name: 'console',
    summary: "Attach to domain's console",
    usage: '[options] <Domain>\n-t <type>       console type, pv , serial or vuart\n-n <number>     console number',
    optionsHelp: '-e <escapechar> escape character (default ^])',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/console.js')).consoleCommand,
  },
  {
    name: 'vncviewer',
    summary: "Attach to domain's VNC server.",
    usage: '[options] <Domain>\n--autopass               Pass VNC password to viewer via stdin and\n                         -autopass',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/vncviewer.js')).vncviewerCommand,
  },
  {
    name: 'save',
    summary: 'Save a domain state to restore later',
    usage: '[options] <Domain> <CheckpointFile> [<ConfigFile>]',
    optionsHelp: '-h  Print this help.\n-c  Leave domain running after creating the snapshot.\n-p  Leave domain paused after creating the snapshot.\n-D  Store the domain id in the configuration.',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/save.js')).saveCommand,
  },
  {
    name: 'restore',
    summary: 'Restore a domain from a saved state',
    usage: '[options] [<ConfigFile>] <CheckpointFile>',
    optionsHelp: '-h                       Print this help.\n-p                       Do not unpause domain after restoring it.\n-e                       Do not wait in the background for the death of the domain.\n-d                       Enable debug messages.\n-V, --vncviewer          Connect to the VNC display after the domain is created.\n-A, --vncviewer-autopass Pass VNC password to viewer via stdin.',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/restore.js')).restoreCommand,
  },
  {
    name: 'migrate',
    summary: 'Migrate a domain to another host',
    usage: '[options] <Domain> <host>',
    optionsHelp: '-h              Print this help.\n-C <config>     Send <config> instead of config file from creation.\n-s <sshcommand> Use <sshcommand> instead of ssh.  String will be passed\n                to sh. If empty, run <host> instead of ssh <host> xl\n                migrate-receive [-d -e]\n-e              Do not wait in the background (on <host>) for the death\n                of the domain.\n--debug         Enable verbose debugging on the migration stream.\n-p              Do not unpause domain after migrating it.\n-D              Preserve the domain id',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/migrate.js')).migrateCommand,
  },
  {
    name: 'migrate-receive',
    summary: 'Restore a domain from a saved state',
    usage: '- for internal use only',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/migrate-receive.js')).migrateReceiveCommand,
  },
  {
    name: 'cd-insert',
    summary: "Insert a cdrom into a guest's cd drive",
    usage: '<Domain> <VirtualDevice> <path>',
    canDryRun: true,
    modifies: true,
    load: async () => (await import('./commands/cd-insert.js')).cdInsertCommand,
  },
  {
    name: 'cd-eject',
    summary: "Eject a cdrom from a guest's cd drive",
    usage: '<Domain> <VirtualDevice>',
    canDryRun: true,
    modifies: true,
    load: async () => (await import('./commands/cd-eject.js')).cdEjectCommand,
  },
  {
    name: 'mem-max',
    summary: 'Set the maximum amount reservation for a domain',
    usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/mem-max.js')).memMaxCommand,
  },
  {
    name: 'mem-set',
    summary: 'Set the current memory usage for a domain',
    usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/mem-set.js')).memSetCommand,
  },
  {
    name: 'rename',
    summary: 'Rename a domain',
    usage: '<Domain> <NewDomainName>',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/rename.js')).renameCommand,
  },
  {
    name: 'trigger',
    summary: 'Send a trigger to a domain',
    usage: '<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/trigger.js')).triggerCommand,
  },
  {
    name: 'sysrq',
    summary: 'Send a sysrq to a domain',
    usage: '<Domain> <letter>',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/sysrq.js')).sysrqCommand,
  },
  {
    name: 'help',
    summary: 'Print this help',
    usage: '[command]',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/help.js')).helpCommand,
  },
  {
    name: 'domid',
    summary: 'Convert a domain name to domain id',
    usage: '<DomainName>',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/domid.js')).domidCommand,
  },
  {
    name: 'domname',
    summary: 'Convert a domain id to domain name',
    usage: '<DomainId>',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/domname.js')).domnameCommand,
  },
  {
    name: 'network-attach',
    summary: 'Create a new virtual network device',
    usage: '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>] [mtu=<mtu>]',
    canDryRun: true,
    modifies: true,
    load: async () => (await import('./commands/network-attach.js')).networkAttachCommand,
  },
  {
    name: 'network-list',
    summary: 'List virtual network interfaces for a domain',
    usage: '<Domain(s)>',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/network-list.js')).networkListCommand,
  },
  {
    name: 'network-detach',
    summary: 'Destroy a domain\'s virtual network device',
    usage: '<Domain> <DevId|mac>',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/network-detach.js')).networkDetachCommand,
  },
  {
    name: 'block-attach',
    summary: 'Create a new virtual block device',
    usage: '<Domain> <disk-spec-component(s)>...',
    canDryRun: true,
    modifies: true,
    load: async () => (await import('./commands/block-attach.js')).blockAttachCommand,
  },
  {
    name: 'block-list',
    summary: 'List virtual block devices for a domain',
    usage: '<Domain(s)>',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/block-list.js')).blockListCommand,
  },
  {
    name: 'block-detach',
    summary: "Destroy a domain's virtual block device",
    usage: '[option] <Domain> <DevId>',
    optionsHelp: '-f, --force        do not wait for the domain to release the device',
    canDryRun: false,
    modifies: true,
    load: async () => (await import('./commands/block-detach.js')).blockDetachCommand,
  },
  {
    name: 'info',
    summary: 'Get information about Xen host',
    usage: '[-n|--numa] [-x|--xenstore] [<Field>]',
    optionsHelp: '-n, --numa         List host NUMA topology information\n-x, --xenstore     Also show xenstore features',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/info.js')).infoCommand,
  },
  {
    name: 'top',
    summary: 'Monitor a host and the domains in real time',
    usage: '',
    optionsHelp: '-b, --batch          output in batch mode (-i N iterations, -d S seconds apart; --json)\n' +
      '-n -x -v             vif, vbd and vCPU lines; -r repeat header; -f full names; -z Domain-0 first',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/top.js')).topCommand,
  },
  {
    name: 'uptime',
    summary: 'Print uptime for all/some domains',
    usage: '[-s] [Domain]',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/uptime.js')).uptimeCommand,
  },
  {
    name: 'config-parse',
    summary: 'Parse a domain config file and print its settings as JSON (dom0)',
    usage: '[--raw] <ConfigFile> [key=value ...]',
    optionsHelp: ' --raw                    Print the settings as stored, before any typing.\n',
    canDryRun: false,
    modifies: false,
    load: async () => (await import('./commands/config-parse.js')).configParseCommand,
  },
];

export function commandTable(): readonly CommandSpec[] {
  return COMMANDS;
}

/** Xen's `cmdtable_lookup`: an exact name, else the one command the prefix names. */
export function lookupCommand(name: string): CommandSpec | undefined {
  const exact = COMMANDS.find((c) => c.name === name);
  if (exact !== undefined) return exact;
  const matches = COMMANDS.filter((c) => c.name.startsWith(name));
  return matches.length === 1 ? matches[0] : undefined;
}
