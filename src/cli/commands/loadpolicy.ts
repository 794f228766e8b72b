import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { isErrno, strerror, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { flaskDisabled } from '../flask.js';

/**
 * `xl loadpolicy <policy file>` (xl_flask.c): reads the file as xl does (its open and read
 * failures in xl's words, exit 255), then, as there is no Xen security module, xl's answer to
 * ENOSYS: `Flask XSM disabled`, exit 255. A missing argument prints the help, exit 2; xl reads
 * no options, so `-h` is a file name.
 */
export const loadpolicyCommand = defineCommand<never>({
  run(ctx, args) {
    const file = args[0];
    if (file === undefined) return Promise.reject(new ToolstackError('USAGE_ARGS', 'No policy file given', { lines: [], exitCode: 2 }));
    try {
      readPolicy(file === '' ? '' : resolve(ctx.cwd, file)); // '' fails to open, as in xl
    } catch (e: unknown) {
      if (!isErrno(e)) throw e;
      const line = e.syscall === 'open'
        ? `Error occurred opening policy file '${file}': ${strerror(e.code)}`
        : `Unable to read new Flask policy file: ${strerror(e.code)}`;
      return Promise.reject(new ToolstackError('CFG_READ', line, { lines: [line], exitCode: 255 }));
    }
    return Promise.reject(flaskDisabled('load a Flask policy'));
  },
});

/** Larger policies are refused as too large (EFBIG): Xen's own are a few MiB. */
const MAX_POLICY_BYTES = 64 * 1024 * 1024;

/**
 * Reads the policy as xl does: one read of the size the file has (so a device or FIFO, size 0,
 * gives nothing rather than endless bytes; a FIFO is not waited on), at most MAX_POLICY_BYTES
 * (xl would try to allocate a sparse file's whole size). Throws the errno error.
 */
function readPolicy(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_POLICY_BYTES) throw Object.assign(new Error(`${path}: File too large`), { code: 'EFBIG', syscall: 'read' });
    readSync(fd, Buffer.alloc(size), 0, size, null);
  } finally {
    closeSync(fd);
  }
}
