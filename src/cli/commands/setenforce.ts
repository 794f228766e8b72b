import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { flaskDisabled } from '../flask.js';

/**
 * `xl setenforce <1|0|Enforcing|Permissive>` (xl_flask.c): the mode is checked as xl does (a
 * missing or other argument prints the help, exit 2; `-h` is such an argument); then, as there
 * is no Xen security module, xl's answer to ENOSYS: `Flask XSM disabled`, exit 255.
 */
export const setenforceCommand = defineCommand<never>({
  run(_ctx, args) {
    const mode = args[0]?.toLowerCase();
    if (mode === undefined || !['0', '1', 'permissive', 'enforcing'].includes(mode)) {
      return Promise.reject(new ToolstackError('USAGE_ARGS', `Invalid enforcing mode '${args[0] ?? ''}'`, { lines: [], exitCode: 2 }));
    }
    return Promise.reject(flaskDisabled('set the Flask enforcing mode'));
  },
});
