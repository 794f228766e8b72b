import { defineCommand, FailureOnStdout } from '../command.js';

/**
 * `xl getenforce` (xl_flask.c): dom0 has no Xen security module, so it answers as xl does when
 * the hypervisor's XSM op says ENOSYS (Flask not built or disabled): `Flask XSM Disabled` on
 * stdout, exit 255 (xl returns libxc's -1). Arguments are ignored, `-h` included, as in xl.
 */
export const getenforceCommand = defineCommand<never>({
  run() {
    return Promise.reject(new FailureOnStdout('NOT_SUPPORTED', 'Cannot get the Flask enforcing mode: dom0 has no Xen security module', 'Flask XSM Disabled\n', {
      lines: [],
      exitCode: 255,
    }));
  },
});
