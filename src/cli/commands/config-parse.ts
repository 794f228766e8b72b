import { availableParallelism, homedir } from 'node:os';
import { resolvePaths, toJson, usageError } from '../../common/index.js';
import { formatRawCfgSettings, rawCfgSettings, readCfgFile, readXlConf, resolveDomainConfig } from '../../config/index.js';
import type { DomainConfig, RawCfgSetting } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl config-parse [--raw] <ConfigFile> [key=value ...]` (ours): parses a config as `xl create`
 * would, extra `key=value` arguments appended as xl appends them, and prints the settings as a
 * JSON array `[{name, op, value, line}]` in file order (`--raw`: values as stored, before any
 * typing), or else the resolved DomainConfig (with xl.conf applied; what `xl create` would
 * use). Invalid input prints Xen's error lines and exits 1.
 */
export const configParseCommand = defineCommand<RawCfgSetting[] | DomainConfig>({
  run(ctx, args) {
    const opts = getopt(args, '', [{ name: 'raw', hasArg: false, short: 'r' }]);
    let file: string | undefined;
    const extra: string[] = [];
    for (const a of opts.positional) {
      if (a.includes('=')) extra.push(a);
      else if (file === undefined) file = a;
      else throw usageError(`unexpected argument \`${a}'`, 'give one config file, then key=value settings');
    }
    if (file === undefined) throw usageError('\'xl config-parse\' requires a config file.', 'use /dev/null to parse only key=value arguments');
    const doc = readCfgFile(file, { extra });
    if (opts.has('r')) {
      for (const w of doc.warnings) ctx.warn(w);
      return Promise.resolve({ data: rawCfgSettings(doc) });
    }
    const paths = resolvePaths(ctx.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: ctx.cwd });
    const { config, warnings } = resolveDomainConfig(doc, { xlConf: readXlConf(paths.configDir), hostCpus: availableParallelism() });
    for (const w of warnings) ctx.warn(w);
    return Promise.resolve({ data: config });
  },
  render: (data) => `${Array.isArray(data) ? formatRawCfgSettings(data) : toJson(data, 2)}\n`,
});
