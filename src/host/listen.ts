import { unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { isErrno } from '../common/index.js';

/** Where a server listens: a Unix socket made with `mode` (owner-only by default), or a TCP port. */
export type ListenAt = { readonly path: string; readonly mode?: number } | { readonly port: number; readonly host?: string };

/**
 * Starts `server` listening and resolves once it does (a failure to listen rejects). A Unix
 * socket replaces what is at its path and is born with its mode (the umask is narrowed around the
 * bind: no moment where another user may connect). Errors after that (an accept failing for want
 * of file descriptors, on the Node releases that report it) go to `onError` instead of ending the
 * process.
 */
export async function listenOn(server: Server, at: ListenAt, onError: (e: Error) => void): Promise<void> {
  if ('path' in at) {
    try {
      unlinkSync(at.path);
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      server.on('error', onError);
      resolve();
    };
    if (!('path' in at)) {
      server.listen(at.port, at.host, listening);
      return;
    }
    const oldMask = process.umask(0o777 & ~(at.mode ?? 0o600));
    try {
      server.listen(at.path, listening);
    } finally {
      process.umask(oldMask);
    }
  });
}
