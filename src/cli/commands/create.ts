import { readdirSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { resolvePaths, ToolstackError, usageError } from '../../common/index.js';
import { domainConfigToLibxlJson, domainConfigToLibxlObject, libxlJson, loadDomainConfig, readXlConf } from '../../api/index.js';
import type { LibxlJsonObject } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

const OPTIONS_HELP = [
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

const LONG_OPTIONS = [
  { name: 'dryrun', hasArg: false, short: 'n' },
  { name: 'quiet', hasArg: false, short: 'q' },
  { name: 'defconfig', hasArg: true, short: 'f' },
  { name: 'vncviewer', hasArg: false, short: 'V' },
  { name: 'vncviewer-autopass', hasArg: false, short: 'A' },
  { name: 'ignore-global-affinity-masks', hasArg: false, short: 'i' },
] as const;

/**
 * `xl create <ConfigFile> [options] [key=value ...]` (xl's `main_create` + `create_domain`).
 * The file may come first, anywhere among the options, or as `-f`; arguments with `=` are
 * config lines appended to the file. With `-N` or `-n` it prints the resolved config as libxl's
 * JSON and stops; `-d` prints it to stderr first. Starting the domain is not available yet.
 */
export const createCommand = defineCommand<LibxlJsonObject>({
  name: 'create',
  summary: 'Create a domain from config file <filename>',
  usage: '<ConfigFile> [options] [vars]',
  optionsHelp: OPTIONS_HELP,
  canDryRun: true,
  modifies: true,
  run(ctx, args) {
    let filename: string | undefined;
    let rest = args;
    const first = args[0];
    if (first !== undefined && !first.startsWith('-') && !first.includes('=')) {
      filename = first;
      rest = args.slice(1);
    }
    const o = getopt(rest, 'AFVcdef:inpq', LONG_OPTIONS);
    filename = o.value('f') ?? filename;
    const extra: string[] = [];
    for (const a of o.positional) {
      if (a.includes('=')) extra.push(a);
      else if (filename === undefined) filename = a;
      else throw usageError(`unexpected argument \`${a}'`, 'give one config file, then key=value settings');
    }
    if (filename === undefined) {
      const line = 'Config file not specified and none in save file';
      throw new ToolstackError('USAGE', line, { lines: [line], exitCode: 6, hint: 'usage: xl create <ConfigFile> [options] [key=value ...]' });
    }
    const dryRun = ctx.dryRun || o.has('n');
    const paths = resolvePaths(ctx.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: ctx.cwd });
    const xlConf = readXlConf(paths.configDir);
    for (const w of xlConf.warnings) ctx.warn(w);
    if (!o.has('q')) ctx.warn(`Parsing config from ${filename}`);
    let resolved;
    try {
      resolved = loadDomainConfig(filename, {
        extra,
        xlConf,
        hostCpus: availableParallelism(),
        hostNumaNodes: numaNodes(),
        ignoreGlobalAffinityMasks: o.has('i'),
      });
    } catch (e) {
      if (e instanceof ToolstackError && e.code === 'CFG_READ') {
        throw new ToolstackError(e.code, e.message, { ...(e.lines === undefined ? {} : { lines: e.lines }), ...(e.hint === undefined ? {} : { hint: e.hint }), exitCode: 3 });
      }
      throw e;
    }
    for (const w of resolved.warnings) ctx.warn(w);
    if (o.has('d') && !dryRun) ctx.stderr.write(domainConfigToLibxlJson(resolved.config));
    if (dryRun) return Promise.resolve({ data: domainConfigToLibxlObject(resolved.config) });
    throw new ToolstackError('NOT_SUPPORTED', `Cannot create domain "${resolved.config.c_info?.name ?? ''}": starting domains is not available yet`, {
      hint: 'use xl -N create to check the config; domain start-up on QEMU comes with the domain lifecycle',
    });
  },
  render: (json) => libxlJson(json),
});

/** The host's NUMA nodes (Linux sysfs); 1 when unknown. */
function numaNodes(): number {
  try {
    return Math.max(1, readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length);
  } catch {
    return 1;
  }
}
