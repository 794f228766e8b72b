import { homedir } from 'node:os';
import { resolvePaths } from '../common/index.js';
import { DOMAIN_CONFIG, idlToJson, loadDomainConfig, readXlConf, withAbsolutePaths } from '../config/index.js';
import type { LibxlJsonObject, XlConf } from '../config/index.js';
import type { CommandContext } from './command.js';
import { fileArgument } from './getopt.js';

/** xl.conf as this xl's environment names it, its warnings said (xl reads it on every command). */
export function xlConfOf(ctx: CommandContext): XlConf {
  const paths = resolvePaths(ctx.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: ctx.cwd });
  const xlConf = readXlConf(paths.configDir);
  for (const w of xlConf.warnings) ctx.warn(w);
  return xlConf;
}

/**
 * The `<ConfigFile>` of `xl save` / `xl restore` / `xl config-update`, resolved as `xl create`
 * resolves one (`extra` key=value lines appended, xl.conf applied, paths made absolute against
 * xl's working directory), as libxl JSON.
 */
export function configFileJson(ctx: CommandContext, file: string, extra: readonly string[] = []): LibxlJsonObject {
  const xlConf = xlConfOf(ctx);
  const resolved = loadDomainConfig(fileArgument(ctx.cwd, file, 'Cannot read the config file'), { xlConf, extra });
  for (const w of resolved.warnings) ctx.warn(w);
  return idlToJson(DOMAIN_CONFIG, withAbsolutePaths(resolved.config, ctx.cwd));
}
