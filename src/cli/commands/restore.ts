import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { errnoMessage, isToolstackError, othersMayWrite, SAVE_FILE_OWNER_HINT, terminalSafe, toJson, ToolstackError } from '../../common/index.js';
import { connectToolstack, readSaveFileHeader, saveFileDataLength } from '../../api/index.js';
import type { DomainInfo, SaveFileInfo } from '../../api/index.js';
import type { LibxlJsonObject } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { fileArgument, getopt, requireArgs } from '../getopt.js';

/**
 * `xl restore [-p] [-e] [-d] [-V] [<ConfigFile>] <CheckpointFile>`: reads xl's header and the
 * embedded config (or takes `<ConfigFile>` instead, as xl does), then dom0d creates the domain
 * with its machine started from the file's state stream; `-p` leaves it paused, `-e` without
 * the monitor (as `create -e`), `-d` prints the config it restores.
 */
export const restoreCommand = defineCommand<DomainInfo>({
  async run(ctx, args) {
    const o = getopt(args, 'FcpdeVA', [{ name: 'vncviewer', hasArg: false, short: 'V' }, { name: 'vncviewer-autopass', hasArg: false, short: 'A' }]);
    requireArgs('restore', o.positional, 1);
    const [first, second] = o.positional as [string, string | undefined];
    const file = fileArgument(ctx.cwd, second ?? first, 'Cannot restore');
    const configFile = second === undefined ? undefined : first;
    const info = readHeader(file);
    ctx.warn(`Loading new save file ${second ?? first} (new xl fmt info 0x${info.mandatoryFlags.toString(16)}/0x${info.optionalFlags.toString(16)}/${info.optionalDataLen})`);
    let config: LibxlJsonObject;
    // The config code is loaded only for a config file (it is most of xl's own start-up).
    if (configFile !== undefined) config = (await import('../saved-config.js')).configFileJson(ctx, configFile);
    else if (info.config !== undefined) {
      ctx.warn(' Savefile contains xl domain config in JSON format');
      config = info.config as LibxlJsonObject;
    } else {
      const line = 'Config file not specified and none in save file';
      throw new ToolstackError('USAGE', line, { lines: [line], hint: 'give the domain\'s config file before the save file' });
    }
    if (o.has('d')) ctx.stderr.write(`${terminalSafe(toJson(config, 4), true)}\n`);
    try {
      const domain = await connectToolstack(ctx).createDomain({
        config, paused: o.has('p'), noMonitor: o.has('e'), source: second ?? first, restore: { file, offset: info.streamOffset },
        ...(info.layout === undefined ? {} : { layout: info.layout }),
      });
      return { data: domain };
    } catch (e: unknown) {
      // The embedded config is the file's: what the API's schema says of it says the file is bad.
      const bad = configFile === undefined && isToolstackError(e, 'USAGE') ? /^Bad API request: \/config(\S*) (.*)$/s.exec(e.message) : null;
      if (bad === null) throw e;
      const line = `Savefile '${second ?? first}' is corrupt: its config${bad[1] === '' ? '' : ` at ${bad[1]}`} ${bad[2] ?? ''}`;
      throw new ToolstackError('SAVE_FILE', line, { lines: [line], hint: 'xl save did not write this config: the file was changed, or is not a save file (a config file given before it is used instead)' });
    }
  },
  render: () => '',
});

/**
 * The save file's header and config. A save file is a plain file (QEMU reads the state from its
 * offset): a directory, device or FIFO is refused, and a FIFO is not waited on.
 */
function readHeader(file: string): SaveFileInfo {
  const refused = (reason: string, hint = 'give the file xl save wrote'): ToolstackError => {
    const line = `Cannot open save file '${file}': ${reason}`;
    return new ToolstackError('SAVE_FILE', line, { lines: [line], hint });
  };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw refused(errnoMessage(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refused('not a plain file (a directory, device, FIFO or socket)');
    const foreign = othersMayWrite(st);
    if (foreign !== undefined) throw refused(foreign, SAVE_FILE_OWNER_HINT);
    const read = (length: number): Buffer => {
      const buf = Buffer.alloc(length);
      let n = 0;
      try {
        while (n < length) {
          const got = readSync(fd, buf, n, length - n, n);
          if (got === 0) break;
          n += got;
        }
      } catch (e) {
        throw refused((e as Error).message);
      }
      return buf.subarray(0, n);
    };
    // The fixed header says how long the config is (checked first: what is no save file is not read on).
    const fixed = read(48);
    return readSaveFileHeader(read(48 + saveFileDataLength(fixed, file)), file);
  } finally {
    closeSync(fd);
  }
}
