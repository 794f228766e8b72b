import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { createWebSocketStream, WebSocketServer } from 'ws';
import type { ToolstackService } from '../api/index.js';
import { ToolstackError } from '../common/index.js';

/** The WebSocket subprotocol of a console; the token rides as a second one, `bearer.<token>`. */
export const CONSOLE_WS_PROTOCOL = 'dom0-console';
/** The subprotocol of a domain's display (VNC, for noVNC). */
export const VNC_WS_PROTOCOL = 'dom0-vnc';
const PATH = /^\/v1\/domains\/([^/?]+)\/(console|vnc)\/ws$/;

/**
 * A domain's display over a WebSocket: `GET /v1/domains/:ref/vnc/ws` (subprotocols `dom0-vnc,
 * bearer.<token>`) is a byte pipe to the domain's VNC server (noVNC in the page speaks RFB over
 * it; a VNC password is the guest's, given to noVNC). And its console (the web console's
 * terminal; browsers cannot make the API's own `dom0-console` upgrade): `GET /v1/domains/:ref/console/ws[?type=pv|serial&num=N]` with
 * `Upgrade: websocket` and the subprotocols `dom0-console, bearer.<token>` (a browser cannot send
 * an Authorization header there; `bearerGuard` reads that one). The console is resolved as `xl
 * console` resolves it before the upgrade (an unknown domain is an ordinary error reply); then
 * the retained output, the live output, and what the page types, as binary messages. Returns
 * false for a request that is not this route.
 */
export function consoleWebSocket(api: ToolstackService, log: (line: string) => void): (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<boolean> {
  // `ws` (with the zlib and TLS modules it loads, ~7 MB of dom0d's resident memory) is loaded at
  // the first upgrade: a dom0d whose web console is never opened does not hold it.
  let lib: Promise<{ readonly wss: WebSocketServer; readonly createWebSocketStream: typeof createWebSocketStream }> | undefined;
  const loaded = (): NonNullable<typeof lib> => (lib ??= import('ws').then((m) => ({ createWebSocketStream: m.createWebSocketStream, wss: new m.WebSocketServer({
    noServer: true,
    maxPayload: 64 << 10,
    // The path's own protocol, and only it (a display offered only the console's was accepted).
    handleProtocols: (protocols, req) => {
      const wanted = PATH.exec((req.url ?? '/').split('?')[0] ?? '/')?.[2] === 'vnc' ? VNC_WS_PROTOCOL : CONSOLE_WS_PROTOCOL;
      return protocols.has(wanted) ? wanted : false;
    },
  }) })).catch((e: unknown) => {
    // Tried again at the next upgrade (a package being reinstalled, say).
    lib = undefined;
    throw e;
  }));
  return async (req, socket, head) => {
    const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
    const m = PATH.exec(path);
    if (m === null || req.headers.upgrade?.toLowerCase() !== 'websocket') return false;
    // Refused before anything is attached: a client that does not speak the path's protocol
    // would otherwise get a WebSocket with none chosen (and hold a console session).
    const wanted = m[2] === 'vnc' ? VNC_WS_PROTOCOL : CONSOLE_WS_PROTOCOL;
    if (!(req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === wanted)) {
      throw new ToolstackError('USAGE', `A WebSocket on ${path} must offer the subprotocol ${wanted}`, { hint: `Sec-WebSocket-Protocol: ${wanted}, bearer.<token>` });
    }
    const { wss, createWebSocketStream } = await loaded();
    if (m[2] === 'vnc') {
      const vnc = await api.getVnc({ ref: domainRef(m[1] as string) });
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        const tcp = connect(vnc.port, vnc.host);
        const end = (): void => {
          tcp.destroy();
          stream.destroy();
        };
        stream.on('error', end);
        tcp.on('error', end);
        stream.pipe(tcp).pipe(stream);
      });
      return true;
    }
    const q = new URLSearchParams(query ?? '');
    const type = q.get('type');
    const num = q.get('num');
    const att = await api.attachConsole({
      ref: domainRef(m[1] as string),
      ...(type === 'pv' || type === 'serial' ? { type } : {}),
      ...(num !== null && /^\d{1,4}$/.test(num) ? { num: Number(num) } : {}),
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      // The stream ends only once both its sides have, and the hub never ends its own: a session
      // the client closed kept its slot until the guest next wrote (16 closes: no more sessions).
      ws.on('close', () => stream.destroy());
      api.streamConsole({ ref: String(att.domid), id: att.id }, stream, () => undefined, true).catch((e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        log(`console websocket of domain ${att.domid}: ${why}`);
        // The reason the client is told (a close reason holds at most 123 bytes).
        ws.close(1011, Buffer.from(why).subarray(0, 123).toString('utf8').replace(/\ufffd$/u, ''));
      });
    });
    return true;
  };
}

/** The domain a WebSocket path names, percent-decoded; a broken encoding is the client's error. */
function domainRef(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ToolstackError('USAGE', `Bad domain in the URL: '${encoded}' is not valid percent-encoding`, { hint: 'encode the domain name or id with encodeURIComponent' });
  }
}
