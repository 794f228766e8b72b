import { connectToolstack } from '../../api/index.js';
import type { SaveResult } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { fileArgument, getopt, requireArgs } from '../getopt.js';
import { withProgress } from '../progress.js';

/**
 * `xl save [-c] [-p] [-D] <Domain> <CheckpointFile> [<ConfigFile>]`: dom0d writes xl's save file
 * (xl's header and the domain's config, then QEMU's state stream; api/savefile.ts), never a
 * partial file under its name, then destroys the domain unless `-c` (it runs on) or `-p` (it
 * stays, paused). The file's path is xl's working directory's, as Xen's xl opens it itself.
 */
export const saveCommand = defineCommand<SaveResult>({
  async run(ctx, args) {
    const o = getopt(args, 'cpD');
    requireArgs('save', o.positional, 2);
    const [ref, file, configFile] = o.positional as [string, string, string | undefined];
    const api = connectToolstack(ctx);
    // The config code is loaded only for a config file (it is most of xl's own start-up).
    const config = configFile === undefined ? undefined : (await import('../saved-config.js')).configFileJson(ctx, configFile);
    const result = await withProgress(ctx, api, ref, 'Saving', api.saveDomain({
      ref,
      file: fileArgument(ctx.cwd, file, 'Cannot save'),
      checkpoint: o.has('c'),
      paused: o.has('p'),
      preserveDomid: o.has('D'),
      ...(config === undefined ? {} : { config }),
    }));
    ctx.warn(`Saving to ${file} new xl format (info 0x${result.mandatoryFlags.toString(16)}/0x${result.optionalFlags.toString(16)}/${result.optionalDataBytes})`);
    return { data: result };
  },
  render: () => '',
});
