import { statSync } from 'node:fs';
import { connectToolstack } from '../api/index.js';
import type { MediaChanged } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { ErrorCode } from '../common/index.js';
import { DEVICE_DISK, idlToJson, parseDiskSpec, withAbsolutePaths } from '../config/index.js';
import type { CommandContext } from './command.js';

/** Failures xl reports with its own line before libxl is called: no libxl trailer follows them. */
const XL_OWN: readonly ErrorCode[] = ['DAEMON_UNAVAILABLE', 'DOMAIN_NOT_FOUND', 'DEVICE_NOT_FOUND', 'NOT_SUPPORTED', 'USAGE'];

/**
 * Runs a device operation of dom0d (attach, detach). A failure prints dom0d's line naming the
 * cause, then xl's own last line for the libxl call that failed (`libxl_device_disk_add
 * failed.`), as Xen's xl ends; failures xl finds itself keep their one line.
 */
export async function deviceOperation<T>(call: Promise<T>, xlLine: string): Promise<T> {
  try {
    return await call;
  } catch (e: unknown) {
    if (!isToolstackError(e) || XL_OWN.includes(e.code)) throw e;
    throw new ToolstackError(e.code, e.message, {
      lines: [...(e.lines ?? [e.message]), xlLine],
      exitCode: e.exitCode,
      cause: e,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
    });
  }
}

/**
 * `xl cd-insert` / `cd-eject` (xl's `cd_insert`): the spec `vdev=V,access=r,devtype=cdrom,target=P`
 * (P empty: eject), a target that must stat (`Cannot stat file: P`), made absolute against xl's
 * directory, to the domain's CD-ROM drive V. `-N` stops after those checks.
 */
export async function changeCdrom(ctx: CommandContext, ref: string, vdev: string, path: string): Promise<MediaChanged | undefined> {
  const disk = parseDiskSpec([`vdev=${vdev},access=r,devtype=cdrom,target=${path}`]);
  if (disk.format !== 'empty') {
    try {
      statSync(disk.pdev_path ?? '');
    } catch {
      const line = `Cannot stat file: ${disk.pdev_path ?? ''}`;
      throw new ToolstackError('GUEST_FILE', line, { lines: [line], hint: 'give the path of an ISO image (or a block device) that exists' });
    }
  }
  if (ctx.dryRun) return undefined;
  const medium = withAbsolutePaths({ disks: [disk] }, ctx.cwd).disks?.[0] ?? disk;
  return connectToolstack(ctx).changeMedia({ ref, disk: idlToJson(DEVICE_DISK, medium) });
}
