import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../common/index.js';
import { DOM0_BUILD, own, toJson, ToolstackError } from '../common/index.js';
import type { ApiRoute } from '../api/index.js';
import { matchRoutePath } from '../api/index.js';
import { listenOn, shortageError, shortageOf } from '../host/index.js';

/** One entry of dom0d's route table: a route and what answers it. */
export interface RouteHandler {
  readonly route: ApiRoute;
  /** Gets the request object (path parameters over the JSON body); resolves with the JSON result. */
  readonly handle: (req: Record<string, unknown>) => Promise<unknown>;
  /** Throws when the JSON body is not what the route takes (before `handle` sees it). */
  readonly checkBody?: (body: Readonly<Record<string, unknown>>) => void;
}

/** One byte-stream route (`STREAM_ROUTES`): an HTTP Upgrade to `route.protocol`. */
export interface StreamHandler {
  readonly route: ApiRoute & { readonly protocol: string };
  /**
   * Gets the path parameters over the query's; serves the stream on `socket`, calling `ready`
   * (which sends the `101`) before its first byte. A ToolstackError thrown before `ready` is
   * answered as an error reply. `remote`: it came over TCP (the listener has a guard).
   */
  readonly handle: (req: Record<string, string>, socket: Duplex, ready: () => void, remote: boolean) => Promise<void>;
}

/** The largest request body dom0d reads. */
const MAX_BODY = 16 << 20;
/**
 * The most request-body bytes dom0d holds at once, over every connection (a parsed body can take
 * ten times its size in memory): a request that would pass it is refused with API_LIMIT.
 */
/** Request bodies one listener holds at once (the Unix socket's and TCP's apart: a remote client cannot crowd out the host's xl). */
const MAX_BODIES_IN_FLIGHT = 32 << 20;

/**
 * HTTP status of each error code; the one place where codes become statuses. Every code has one
 * (a new code must be placed): 4xx for what the client asked or named, 5xx for what failed here.
 */
const STATUS: Readonly<Record<ErrorCode, number>> = {
  USAGE: 400,
  USAGE_ARGS: 400,
  COMMAND_NOT_IMPLEMENTED: 404,
  DRYRUN_UNSUPPORTED: 400,
  INTERNAL: 500,
  CFG_SYNTAX: 400,
  CFG_READ: 400,
  CFG_VALUE: 400,
  CFG_LEGACY: 400,
  SPEC_DISK: 400,
  SPEC_VIF: 400,
  SPEC_CPUS: 400,
  SPEC_PCI: 400,
  SPEC_USB: 400,
  SPEC_DEVICE: 400,
  CONFIG_SCHEMA: 400,
  XS_PROTOCOL: 502,
  XS_STATE: 500,
  DAEMON_UNAVAILABLE: 503,
  API: 500,
  DOMAIN_NOT_FOUND: 404,
  DOMAIN_EXISTS: 409,
  DOMAIN_STATE: 409,
  QEMU: 502,
  HOST_CAPABILITY: 422,
  IO: 500,
  DAEMON_RUNNING: 409,
  NOT_SUPPORTED: 501,
  GUEST_FILE: 422,
  NO_SPACE: 507,
  HOST_RESOURCES: 503,
  UNSAFE_PATH: 422,
  PATH_HUNG: 504,
  XS_JOURNAL: 507,
  DEVICE_EXISTS: 409,
  DEVICE_NOT_FOUND: 404,
  DEVICE_TIMEOUT: 504,
  DISK_IMAGE: 409,
  DISK_SCRIPT: 422,
  NETWORK: 422,
  MEMORY: 422,
  SAVE_FILE: 422,
  MIGRATION: 502,
  MACHINE_GONE: 409,
  VCPU: 422,
  SCHED: 422,
  CPUPOOL: 409,
  CGROUP: 422,
  PCI_DEVICE: 409,
  USB_DEVICE: 409,
  API_AUTH: 401,
  API_ORIGIN: 403,
  API_LIMIT: 413,
  CONSOLE_BUSY: 409,
  INTERRUPTED: 500,
};

export function httpStatusOf(code: ErrorCode): number {
  return own(STATUS, code) ?? 500;
}

/** Whether route `pattern` takes `path`: `:param` segments, or every path under a `/*` prefix. */
function servesPath(pattern: string, path: string): boolean {
  return pattern.endsWith('/*') ? path.startsWith(pattern.slice(0, -1)) : matchRoutePath(pattern, path) !== undefined;
}

/** A route that writes its response itself (Server-Sent Events, documents; `/*`: a whole tree). */
export interface RawHandler {
  readonly route: ApiRoute;
  readonly handle: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void;
}

/** What a server serves besides its JSON routes, and the check every request passes first. */
export interface ServeOptions {
  readonly streams?: readonly StreamHandler[];
  readonly raw?: readonly RawHandler[];
  /** Run first on every request and upgrade (but `open`'s); a ToolstackError it throws is the answer. */
  readonly guard?: (req: IncomingMessage) => void;
  /** Routes served before the guard (files that hold no data: the web console's page). */
  readonly open?: readonly RawHandler[];
  /** WebSocket upgrades (after the guard): true when it took the request. */
  readonly websocket?: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<boolean>;
}

/**
 * The API as an HTTP server, not yet listening: JSON `routes`, then `options.raw`, and upgrades
 * to `options.streams`. Errors that are not `ToolstackError`s are bugs: they are answered as
 * code API and reported through `log`.
 */
export function apiHandlers(routes: readonly RouteHandler[], log: (line: string) => void, options: ServeOptions = {}): {
  readonly request: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
} {
  const inFlight: BodyBudget = { bytes: 0 };
  return {
    request: (req, res) => {
      const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
      // A raw handler's throw (a bug) is answered as any other: one escaping this listener would
      // end dom0d, and the open routes are anyone's who can reach the listener.
      const serve = (h: RawHandler): void => {
        try {
          h.handle(req, res, new URLSearchParams(query ?? ''));
        } catch (e: unknown) {
          const { status, body } = errorReply(e, `${req.method ?? ''} ${req.url ?? ''}`, log);
          if (res.headersSent) res.destroy();
          else reply(res, status, body);
        }
      };
      const open = options.open?.find((h) => h.route.method === req.method && servesPath(h.route.path, path));
      if (open !== undefined) {
        // Files that need no token do not keep a connection: nobody without one holds any open.
        res.setHeader('Connection', 'close');
        serve(open);
        return;
      }
      try {
        options.guard?.(req);
      } catch (e: unknown) {
        req.resume();
        res.setHeader('Connection', 'close');
        const { status, body } = errorReply(e, `${req.method ?? ''} ${req.url ?? ''}`, log);
        reply(res, status, body, status === 401 ? { 'WWW-Authenticate': 'Bearer realm="dom0"' } : {}, false);
        return;
      }
      const raw = options.raw?.find((h) => h.route.method === req.method && matchRoutePath(h.route.path, path) !== undefined);
      if (raw !== undefined) serve(raw);
      else void dispatch(routes, req, res, log, inFlight);
    },
    upgrade: (req, socket, head) => {
      void upgrade(options.streams ?? [], req, socket, head, log, options.guard, options.websocket);
    },
  };
}

/**
 * Serves the API on the unix socket `socketPath` (created mode 0600, no token: the file mode is
 * the access control; a stale socket file is replaced: the caller holds the pid-file lock).
 */
export async function serveApi(
  socketPath: string,
  routes: readonly RouteHandler[],
  log: (line: string) => void,
  options: ServeOptions = {},
): Promise<Server> {
  const h = apiHandlers(routes, log, options);
  const server = createServer(h.request);
  server.on('upgrade', h.upgrade);
  await listenOn(server, { path: socketPath }, (e) => log(`API socket ${socketPath}: ${e.message}`));
  return server;
}

/**
 * A request Node's parser refused (bad syntax, headers too large, too slow): answered with its
 * status, as HTTP asks, when the connection can still take it, and closed either way.
 */
export function answerClientError(e: Error, socket: Duplex): void {
  const code = (e as NodeJS.ErrnoException).code;
  if (!socket.writable || code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The request body bytes a listener holds now (see MAX_BODIES_IN_FLIGHT). */
interface BodyBudget {
  bytes: number;
}

async function dispatch(routes: readonly RouteHandler[], req: IncomingMessage, res: ServerResponse, log: (line: string) => void, inFlight: BodyBudget): Promise<void> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0] as string;
  const held = { bytes: 0 };
  try {
    let params: Record<string, string> | undefined;
    let pathMatched = false;
    let handler: RouteHandler | undefined;
    for (const h of routes) {
      const p = matchRoutePath(h.route.path, path);
      if (p === undefined) continue;
      pathMatched = true;
      if (h.route.method === method) {
        handler = h;
        params = p;
        break;
      }
    }
    if (handler === undefined || params === undefined) {
      throw new ToolstackError('USAGE', pathMatched ? `Method ${method} not allowed on ${path}` : `No API route ${method} ${path}`);
    }
    const body = method === 'POST' ? await readJsonBody(req, held, inFlight) : {};
    handler.checkBody?.(body);
    const result = await handler.handle({ ...body, ...params });
    reply(res, 200, result ?? {});
  } catch (e: unknown) {
    if (req.destroyed && !req.complete) {
      // The client went away mid-request (an upload cut short): nobody to answer, nothing broke.
      log(`${method} ${path}: the client disconnected before its request was complete`);
      return;
    }
    const { status, body } = errorReply(e, `${method} ${path}`, log);
    reply(res, status, body);
  } finally {
    inFlight.bytes -= held.bytes;
  }
}

/**
 * The reply to a failed request: a ToolstackError keeps its code; the host out of descriptors,
 * processes or memory is HOST_RESOURCES; anything else is a bug (API).
 */
function errorReply(e: unknown, what: string, log: (line: string) => void): { status: number; body: unknown } {
  const shortage = e instanceof ToolstackError ? undefined : shortageOf(e);
  if (shortage !== undefined) {
    log(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    e = shortageError(shortage, what, e);
  }
  if (e instanceof ToolstackError) {
    return {
      status: httpStatusOf(e.code),
      body: { error: { ...e.toJSON(), ...(e.lines === undefined ? {} : { lines: e.lines }), ...(e.exitCode === 1 ? {} : { exitCode: e.exitCode }) } },
    };
  }
  log(`internal error on ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return { status: 500, body: { error: { code: 'API', message: `Internal error in dom0d: ${e instanceof Error ? e.message : String(e)}`, hint: 'see dom0d.log, and report it' } } };
}

/** An HTTP Upgrade request: matched against the stream routes, answered `101` or an error reply. */
async function upgrade(
  streams: readonly StreamHandler[], req: IncomingMessage, socket: Duplex, head: Buffer, log: (line: string) => void,
  guard?: (req: IncomingMessage) => void, websocket?: ServeOptions['websocket'],
): Promise<void> {
  const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
  let upgraded = false;
  socket.on('error', () => socket.destroy());
  // The HTTP server allows half-open connections: a client's end ends the stream both ways.
  socket.on('end', () => socket.end());
  try {
    guard?.(req);
    if (websocket !== undefined && await websocket(req, socket, head)) return;
    let handler: StreamHandler | undefined;
    let params: Record<string, string> | undefined;
    for (const h of streams) {
      params = matchRoutePath(h.route.path, path);
      if (params !== undefined && h.route.method === req.method && h.route.protocol === req.headers.upgrade) {
        handler = h;
        break;
      }
    }
    if (handler === undefined || params === undefined) throw new ToolstackError('USAGE', `No API stream ${req.method ?? ''} ${path} (Upgrade: ${req.headers.upgrade ?? ''})`);
    const protocol = handler.route.protocol;
    if (head.length > 0) socket.unshift(head);
    await handler.handle({ ...Object.fromEntries(new URLSearchParams(query ?? '')), ...params }, socket, () => {
      upgraded = true;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`);
    }, guard !== undefined);
  } catch (e: unknown) {
    // Closed once the answer is out, not only ended: a refused upgrade is no longer an HTTP
    // request (no timeout applies), so a client that never closed its side kept the connection,
    // and 1,024 of them without a token locked every TCP client out.
    socket.once('finish', () => socket.destroy());
    if (upgraded) {
      socket.end();
      return;
    }
    const { status, body } = errorReply(e, `upgrade ${path}`, log);
    const text = toJson(body);
    socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  }
}

/**
 * Reads and parses a request's body, counting its bytes in `held` (and in `inFlight`) for
 * the caller to release once the request is answered. Past a limit the rest of the body is read
 * and dropped, so that the refusal can still be answered.
 */
function readJsonBody(req: IncomingMessage, held: { bytes: number }, inFlight: BodyBudget): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer): void => {
      held.bytes += c.length;
      inFlight.bytes += c.length;
      let refusal: ToolstackError | undefined;
      if (held.bytes > MAX_BODY) refusal = new ToolstackError('API_LIMIT', `Bad API request: body larger than ${MAX_BODY} bytes`);
      else if (inFlight.bytes > MAX_BODIES_IN_FLIGHT) {
        refusal = new ToolstackError('API_LIMIT', `Bad API request: dom0d already holds ${MAX_BODIES_IN_FLIGHT >> 20} MiB of request bodies`, { hint: 'send it again once the other requests are answered' });
      }
      if (refusal === undefined) {
        chunks.push(c);
        return;
      }
      req.off('data', onData);
      req.resume(); // the rest is dropped
      chunks.length = 0;
      reject(refusal);
    };
    req.on('data', onData);
    req.once('end', () => {
      try {
        resolve(parseJsonBody(Buffer.concat(chunks)));
      } catch (e: unknown) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new ToolstackError('API', 'the client disconnected before its request was complete'));
    });
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonBody(bytes: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    // Decoded leniently, a bad byte became U+FFFD inside a name or a path.
    throw new ToolstackError('USAGE', 'Bad API request: body is not UTF-8');
  }
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e: unknown) {
    throw new ToolstackError('USAGE', `Bad API request: body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ToolstackError('USAGE', 'Bad API request: body is not a JSON object');
  return v as Record<string, unknown>;
}

/** Writes a JSON reply; `X-Dom0-Build` (for xl) is named only to a client that passed the guard. */
function reply(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}, admitted = true): void {
  const text = toJson(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(admitted ? { 'X-Dom0-Build': DOM0_BUILD } : {}), ...headers });
  res.end(text);
}
