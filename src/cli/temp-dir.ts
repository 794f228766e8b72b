import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ToolstackError } from '../common/index.js';

/** The longest path of a Unix socket (sun_path less its NUL), and of a name xl makes in its directory. */
const MAX_SOCKET_PATH = 107;
const MAX_NAME_INSIDE = 'qemu.sock'.length;

/**
 * Where xl makes its directories: TMPDIR (else /tmp), unless it is relative (the sockets in it
 * are opened by dom0d and QEMU, elsewhere) or so long that a socket's path in it would not fit a
 * Unix socket's 107 bytes: then /tmp, as a program does with a TMPDIR it cannot use.
 */
function tempBase(prefix: string): string {
  const base = tmpdir();
  const longest = `${base}/${prefix}${process.pid}-XXXXXX/${'x'.repeat(MAX_NAME_INSIDE)}`;
  return isAbsolute(base) && Buffer.byteLength(longest) <= MAX_SOCKET_PATH ? base : '/tmp';
}

/**
 * A new private directory under the temporary directory (see tempBase) for this xl's sockets and
 * pipes, named `PREFIX<pid>-XXXXXX`; a TMPDIR that is missing or not a writable directory is one
 * clear line. Directories of the prefix that an xl killed (-9) left, this user's and named for a
 * process that no longer exists, are removed first.
 */
export function makeTempDir(prefix: string): string {
  const base = tempBase(prefix);
  removeLeftDirs(base, prefix);
  try {
    return mkdtempSync(join(base, `${prefix}${process.pid}-`));
  } catch (e: unknown) {
    throw new ToolstackError('IO', `Cannot make a temporary directory in ${base}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'set TMPDIR to a writable directory (or unset it for /tmp)',
      cause: e,
    });
  }
}

function removeLeftDirs(base: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processExists(pid)) continue;
    const path = join(base, name);
    try {
      const st = lstatSync(path);
      if (st.isDirectory() && st.uid === uid) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
