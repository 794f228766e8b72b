import { rename, unlink, writeFile } from 'node:fs/promises';

let seq = 0;

/**
 * Replaces `path` with `data` atomically: readers see the old or the new content, never a torn
 * file, even if this process is killed mid-write (temp file in the same directory + rename).
 * Not fsync'ed: it survives a crash of the process, not of the machine.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, path);
  } catch (e: unknown) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
