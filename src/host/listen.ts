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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      server.on('error', onError);
      resolve();
    };
    if ('path' in at) bindUnixSocket(server, at.path, at.mode, listening);
    else server.listen(at.port, at.host, listening);
  });
}

/**
 * Binds `server` to the Unix socket `path` (what was there replaced), born with `mode`: the umask
 * is narrowed around the bind, which is synchronous, so no other user can connect in between.
 * Throws when what is there cannot be removed; other failures come as the server's `error`.
 */
export function bindUnixSocket(server: Server, path: string, mode = 0o600, listening?: () => void): void {
  try {
    unlinkSync(path);
  } catch (e: unknown) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const oldMask = process.umask(0o777 & ~mode);
  try {
    server.listen(path, listening);
  } finally {
    process.umask(oldMask);
  }
}
