/**
 * The API over TCP, off by default: `api_listen = "ADDR:PORT"` in xl.conf (`DOM0_API_LISTEN`
 * overrides it), HTTPS when `api_tls_cert` and `api_tls_key` are set. The same routes as the
 * Unix socket, behind `bearerGuard`:
 * - every request carries `Authorization: Bearer <token>` (a WebSocket upgrade may offer the
 *   subprotocol `bearer.<token>` instead), the token being `STATE_DIR/api-token`
 *   (made at the first start, mode 0600; `dom0d rotate-token` replaces it and a running dom0d
 *   reads it again when the file changes), compared in constant time (401 otherwise);
 * - a state-changing request (anything but GET, and every upgrade) that names an `Origin` other
 *   than the listener itself is refused (403): a web page elsewhere cannot drive dom0d through a
 *   browser that holds the token. No CORS header is ever sent.
 * Limits: the body size of every API request, a request's headers within 10 s and all of it
 * within 30 s (idle connections are closed), a TLS handshake within 10 s, at most 1024
 * connections, of which at most 256 have not shown the token yet (the oldest goes); a request
 * without the token (and the web console's files, which need none) gets its answer and the
 * connection closed, so that nobody without the token holds connections open. A token file
 * others can read is refused (every request 401) until it is mode 0600 again.
 *
 * The token is the host's root: whoever holds it creates domains from any config (disks, kernels
 * and scripts are host paths) and saves them anywhere, as root's `xl` does. So it is never sent in
 * clear beyond this host (plain HTTP is refused on any address but loopback: give
 * `api_tls_cert`/`api_tls_key`), a rotation (`dom0d rotate-token`) also closes the streams
 * (consoles, VNC, events) opened with the old token, and QEMU's monitor
 * (`qemu-monitor-command`, which runs host commands) is served on the Unix socket only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import type { Stats } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { API_ROUTES, FEED_ROUTES } from '../api/index.js';
import { isErrno, ToolstackError } from '../common/index.js';
import { listenOn, readPlainFileSync, writeFileAtomicSync } from '../host/index.js';
import { answerClientError, apiHandlers } from './http.js';
import type { RouteHandler, ServeOptions } from './http.js';

const HEADERS_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
export const MAX_CONNECTIONS = 1024;
/**
 * Connections that have not yet shown the token, at most: past it the oldest is closed. Without
 * it, 1,024 connections that never send a request (each closed after 10 s, opened again) kept
 * every client with the token out; a client with it sends its request within milliseconds.
 */
export const MAX_UNPROVEN = 256;

/** `ADDR:PORT` (`[V6]:PORT` for IPv6); CFG_VALUE naming the setting otherwise. */
export function parseListen(text: string, setting: string): { readonly host: string; readonly port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    throw new ToolstackError('CFG_VALUE', `${setting}="${text}" is not ADDR:PORT`, { hint: 'e.g. api_listen = "127.0.0.1:8006" (port 0: any free port)' });
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/** A new random token (256 bits, hex) in `file`, replacing any; returns it. */
export function rotateToken(file: string): string {
  const token = randomBytes(32).toString('hex');
  writeFileAtomicSync(file, `${token}\n`, { durable: true });
  return token;
}

/** The token in `file`, made first when there is none. */
export function ensureToken(file: string): string {
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t !== '') return t;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return rotateToken(file);
}

/** Checks requests (`check`) against the token and foreign origins; see the module comment. */
export interface BearerGuard {
  readonly check: (req: IncomingMessage) => void;
  /** Reads the token file again; a new token closes every connection let in with the old one. */
  readonly refresh: () => void;
}

/**
 * The guard of the token in `file` (re-read when the file changes (its ctime), at a request or a
 * `refresh`), remembering which connection each token let in.
 */
export function bearerGuard(file: string, log: (line: string) => void = () => undefined): BearerGuard {
  let changed = -1;
  let digest: Buffer = Buffer.alloc(0);
  /** The token file's mode when others than dom0d's user may read it (no token is then taken). */
  let exposed: number | undefined;
  const admitted = new Map<Socket, Buffer>();
  /** The token's digest now; a new one closes the connections the old let in (but `keep`'s, whose request is being checked). */
  const current = (keep?: Socket): Buffer => {
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      // Removed under a running dom0d: a new one is made (and every old token refused).
      ensureToken(file);
      st = statSync(file);
    }
    // ctime: a chmod is a change too.
    if (st.ctimeMs !== changed) {
      digest = sha256(ensureToken(file));
      changed = st.ctimeMs;
      // A token others could read (an admin's copy with umask 022, say) is no secret: refused,
      // as ssh refuses a private key others can read, rather than served in silence.
      exposed = (st.mode & 0o077) !== 0 || st.uid !== process.geteuid?.() ? st.mode & 0o7777 : undefined;
      if (exposed !== undefined) log(`API over TCP: ${file} (mode ${exposed.toString(8).padStart(4, '0')}, uid ${st.uid}) is open to others: no token is accepted until it is mode 0600 (dom0d rotate-token makes a new one)`);
      for (const [socket, d] of admitted) if (!d.equals(digest) && socket !== keep) socket.destroy();
    }
    return digest;
  };
  const check = (req: IncomingMessage): void => {
    const digest = current(req.socket);
    if (exposed !== undefined) {
      throw new ToolstackError('API_AUTH', 'The API token file is open to other users of the host: no token is accepted', {
        hint: 'on the host, chmod 600 the token file, or run dom0d rotate-token (a new token)',
      });
    }
    const auth = req.headers.authorization ?? '';
    // A browser's WebSocket cannot send the header: it offers `bearer.<token>` as a subprotocol.
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).find((p) => p.startsWith('bearer.'));
    // The scheme's name is case-insensitive (RFC 9110 11.1).
    const given = /^bearer +(\S+) *$/i.exec(auth)?.[1] ?? offered?.slice('bearer.'.length);
    if (given === undefined || !timingSafeEqual(sha256(given), digest)) {
      throw new ToolstackError('API_AUTH', given === undefined ? 'The API needs Authorization: Bearer <token>' : 'The API token is wrong', {
        hint: 'the token is in dom0d\'s STATE_DIR/api-token',
      });
    }
    const origin = req.headers.origin;
    const changes = req.method !== 'GET' || req.headers.upgrade !== undefined;
    // An opaque origin (`null`) has no host: refused as well.
    if (changes && origin !== undefined && hostOf(origin) !== req.headers.host) {
      throw new ToolstackError('API_ORIGIN', `A ${req.method ?? ''} from the web origin ${origin} is refused`, { hint: 'only pages dom0d serves itself may change state' });
    }
    // What outlives its request (a WebSocket, a stream, the event feed) is closed at a rotation;
    // a plain request is checked again the next time (closing its idle connection would make a
    // client's next request on it fail instead of getting its 401).
    if (req.headers.upgrade === undefined && (req.url ?? '').split('?')[0] !== FEED_ROUTES.events.path) return;
    const socket = req.socket;
    if (!admitted.has(socket)) socket.once('close', () => admitted.delete(socket));
    admitted.set(socket, current());
  };
  return { check, refresh: () => void current() };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

export interface TcpApi {
  readonly server: Server;
  /** Where it listens, as a client would write it (`http://127.0.0.1:8006`). */
  readonly url: string;
}

/** Serves the API on `listen` with `bearerGuard(tokenFile)`; TLS when `tls` is given. */
export async function serveApiTcp(
  listen: { readonly host: string; readonly port: number },
  tokenFile: string,
  routes: readonly RouteHandler[],
  log: (line: string) => void,
  options: ServeOptions & { readonly tls?: { readonly cert: string; readonly key: string } },
): Promise<TcpApi> {
  if (options.tls === undefined && !isLoopback(listen.host)) {
    const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    throw new ToolstackError('CFG_VALUE', `Listening on ${where} without TLS would send the API token, the host's root, in clear`, {
      hint: 'give api_tls_cert and api_tls_key in xl.conf, or listen on 127.0.0.1 (and reach it through ssh -L)',
    });
  }
  ensureToken(tokenFile);
  const guard = bearerGuard(tokenFile, log);
  const tcpRoutes = routes.map((r) => (r.route === API_ROUTES.monitorCommand ? { ...r, handle: monitorRefused } : r));
  // Keyed by the peer's address and port: a TLS request's socket is not the TCP one accepted.
  const unproven = new Map<string, Socket>();
  const keyOf = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
  const check = (req: IncomingMessage): void => {
    guard.check(req);
    unproven.delete(keyOf(req.socket));
  };
  const h = apiHandlers(tcpRoutes, log, { ...options, guard: check });
  const limits = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  const server: Server = options.tls === undefined
    ? createHttpServer(limits, h.request)
    // `node:https` (and TLS with it) is loaded only where TLS is asked for: it is memory every dom0d would hold.
    : (await import('node:https')).createServer({ ...limits, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, cert: readTlsFile(options.tls.cert), key: readTlsFile(options.tls.key) }, h.request);
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    unproven.set(key, socket);
    socket.once('close', () => {
      if (unproven.get(key) === socket) unproven.delete(key);
    });
    if (unproven.size <= MAX_UNPROVEN) return;
    const [oldest, s] = unproven.entries().next().value as [string, Socket];
    unproven.delete(oldest);
    s.destroy();
  });

  server.on('upgrade', h.upgrade);
  server.on('clientError', answerClientError);
  await listenOn(server, { port: listen.port, host: listen.host }, (e) => log(`API over TCP: ${e.message}`));
  // A rotation closes what the old token opened even when no request comes to notice it.
  const onChange = (): void => {
    try {
      guard.refresh();
    } catch (e: unknown) {
      // A token that cannot be made again (a full disk) is made at the next request, which fails meanwhile.
      log(`API over TCP: the token in ${tokenFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  watchFile(tokenFile, { interval: 1000, persistent: false }, onChange);
  server.once('close', () => unwatchFile(tokenFile, onChange));
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { server, url: `${options.tls === undefined ? 'http' : 'https'}://${host}:${a.port}` };
}

function monitorRefused(): Promise<never> {
  return Promise.reject(new ToolstackError('NOT_SUPPORTED', 'QEMU\'s monitor is not served over TCP: its commands run on the host as root', {
    hint: 'run xl qemu-monitor-command on the host',
  }));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A PEM file is a few KiB: larger ones are refused. */
const MAX_TLS_FILE_BYTES = 1 << 20;

/**
 * A certificate or key xl.conf names, read as a config is (`readPlainFileSync`): a FIFO there
 * blocked dom0d's event loop after its socket was listening (every xl then hung), /dev/zero
 * was read until memory ran out.
 */
function readTlsFile(path: string): Buffer {
  try {
    return readPlainFileSync(path, MAX_TLS_FILE_BYTES);
  } catch (e: unknown) {
    if (!isErrno(e)) throw e;
    const why = e.code === 'ENOTTY' ? 'it is not a plain file' : e.code === 'EFBIG' ? `it is over ${MAX_TLS_FILE_BYTES >> 20} MiB` : e.message;
    throw new ToolstackError('IO', `Cannot read ${path}: ${why}`, { hint: 'api_tls_cert and api_tls_key in xl.conf name PEM files' });
  }
}
