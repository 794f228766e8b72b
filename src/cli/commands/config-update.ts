import { connectToolstack } from '../../api/index.js';
import type { DomainConfigEntry } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { DOMAIN_CONFIG, domainConfigText, idlFromJson } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import { configFileJson } from '../saved-config.js';

/** What `xl config-update` returns: the config kept, and its text for `-d` / `-N`. */
interface ConfigUpdateView {
  readonly entry: DomainConfigEntry | null;
  readonly text: string;
  toJSON(): unknown;
}

/**
 * `xl config-update <Domain> <ConfigFile> [options] [vars]` (xl_vmcontrol.c `main_config_update`):
 * xl's warning first; the file (or `-f FILE`) with the `key=value` vars appended is parsed as
 * `xl create` parses it and kept for the domain's next restart (on_reboot and the like), which is
 * built from it instead of the running config. `-d` prints the parsed config; with `-N` only that.
 */
export const configUpdateCommand = defineCommand<ConfigUpdateView>({
  async run(ctx, args) {
    ctx.warn('WARNING: xl now has better capability to manage domain configuration, avoid using this command when possible');
    const ref = args[0];
    if (ref === undefined || ref.startsWith('-')) {
      throw new ToolstackError('USAGE_ARGS', 'xl config-update requires a domain argument', { lines: ['xl config-update requires a domain argument'], exitCode: 1 });
    }
    let filename: string | undefined;
    let rest = args.slice(1);
    if (rest[0] !== undefined && !rest[0].startsWith('-') && !rest[0].includes('=')) {
      filename = rest[0];
      rest = rest.slice(1);
    }
    const o = getopt(rest, 'dqf:', [{ name: 'defconfig', hasArg: true, short: 'f' }]);
    filename = o.value('f') ?? filename;
    if (filename === undefined) throw new ToolstackError('USAGE', 'No config file specified', { lines: ['No config file specified'], exitCode: 1 });
    const api = connectToolstack(ctx);
    const domain = await api.getDomain({ ref });
    const json = configFileJson(ctx, filename, o.positional.filter((a) => a.includes('=')));
    const text = o.has('d') || ctx.dryRun ? domainConfigText(idlFromJson(DOMAIN_CONFIG, json), 'json') : '';
    if (ctx.dryRun) return { data: { entry: null, text, toJSON: () => ({ domid: domain.domid, config: json }) } };
    ctx.warn(`setting dom${domain.domid} configuration`);
    const entry = await api.updateDomainConfig({ ref: String(domain.domid), config: json });
    return { data: { entry, text, toJSON: () => entry } };
  },
  render: (v) => v.text,
});
