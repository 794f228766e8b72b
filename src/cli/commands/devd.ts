import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl devd [-F] [-p|--pidfile FILE]` (xl_misc.c): Xen's device daemon runs in a driver domain
 * and starts the backends (hotplug scripts) of the devices other domains get from it. Here every
 * backend is dom0d's (QEMU, the block and vif scripts) and there are no driver domains, so after
 * xl's option checks it fails with one line (exit 1) rather than serve nothing.
 */
export const devdCommand = defineCommand<never>({
  run(_ctx, args) {
    getopt(args, 'Fp:', [{ name: 'pidfile', hasArg: true, short: 'p' }]);
    return Promise.reject(new ToolstackError('NOT_SUPPORTED', 'xl devd: dom0d runs the device backends of every domain; there is no driver domain to serve', {
      hint: 'devices are added with xl block-attach / network-attach (or the domain\'s config); dom0d runs their scripts',
    }));
  },
});
