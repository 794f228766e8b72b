import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolstackError } from '../common/index.js';

/**
 * A new private directory under the temporary directory (`TMPDIR`, else /tmp) for this xl's
 * sockets and pipes, named `PREFIX<pid>-XXXXXX`; a TMPDIR that is missing or not a writable
 * directory is one clear line. Directories of the prefix that an xl killed (-9) left, this
 * user's and named for a process that no longer exists, are removed first.
 */
export function makeTempDir(prefix: string): string {
  removeLeftDirs(prefix);
  try {
    return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
  } catch (e: unknown) {
    throw new ToolstackError('IO', `Cannot make a temporary directory in ${tmpdir()}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'set TMPDIR to a writable directory (or unset it for /tmp)',
      cause: e,
    });
  }
}

function removeLeftDirs(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processExists(pid)) continue;
    const path = join(tmpdir(), name);
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
