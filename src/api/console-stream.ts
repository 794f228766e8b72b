import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { ToolstackError } from '../common/index.js';
import type { ClientOptions } from './client.js';
import { clientPaths, connectToolstack, decodeResponse } from './client.js';
import { STREAM_ROUTES } from './routes.js';
import type { ConsoleAttachment, ConsoleAttachRequest } from './types.js';

/** An attached console: raw bytes both ways on `socket` (see `ConsoleAttachment`). */
export interface ConsoleStream {
  readonly attachment: ConsoleAttachment;
  readonly socket: Socket;
}

/** The largest reply head dom0d sends before a stream. */
const MAX_HEAD = 64 * 1024;

/**
 * Attaches to a domain's console through dom0d: resolves it with `attachConsole` (which starts
 * dom0d when none runs, and fails as xl does for a bad domain or console), then upgrades a
 * connection to its stream.
 */
export async function openConsole(options: ClientOptions, req: ConsoleAttachRequest): Promise<ConsoleStream> {
  const attachment = await connectToolstack(options).attachConsole(req);
  const socket = await openStream(clientPaths(options).apiSocket, attachment.stream, STREAM_ROUTES.consoleStream.protocol);
  return { attachment, socket };
}

/**
 * `GET path` with `Upgrade: protocol` on the API socket. Resolves with the socket once dom0d
 * answered `101`, paused (bytes that followed the head are put back for the reader, who resumes
 * it); rejects with the
 * ToolstackError of an error reply.
 */
export function openStream(apiSocket: string, path: string, protocol: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(apiSocket);
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    const fail = (e: unknown): void => {
      conn.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (head !== undefined) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD) fail(new ToolstackError('DAEMON_UNAVAILABLE', 'dom0d sent an oversized reply head'));
        return;
      }
      head = buf.subarray(0, end).toString('latin1');
      if (/^HTTP\/1\.1 101 /.test(head)) {
        conn.off('data', onData);
        conn.off('end', onEnd);
        conn.off('error', fail);
        conn.pause();
        const rest = buf.subarray(end + 4);
        if (rest.length > 0) conn.unshift(rest);
        resolve(conn);
      }
    };
    const onEnd = (): void => {
      try {
        decodeResponse(buf.toString('utf8'));
        fail(new ToolstackError('DAEMON_UNAVAILABLE', `dom0d did not open the stream ${path}`));
      } catch (e: unknown) {
        fail(e);
      }
    };
    conn.on('connect', () => conn.write(`GET ${path} HTTP/1.1\r\nHost: dom0d\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`));
    conn.on('data', onData);
    conn.on('end', onEnd);
    conn.on('error', fail);
  });
}
