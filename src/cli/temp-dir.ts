import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolstackError } from '../common/index.js';

/**
 * A new private directory under the temporary directory (`TMPDIR`, else /tmp) for this xl's
 * sockets and pipes; a TMPDIR that is missing or not a writable directory is one clear line.
 */
export function makeTempDir(prefix: string): string {
  try {
    return mkdtempSync(join(tmpdir(), prefix));
  } catch (e: unknown) {
    throw new ToolstackError('IO', `Cannot make a temporary directory in ${tmpdir()}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'set TMPDIR to a writable directory (or unset it for /tmp)',
      cause: e,
    });
  }
}
