/**
 * QMP transport: one connection to a QEMU monitor socket (`-qmp unix:PATH,server=on,wait=off`).
 *
 * Protocol, as QEMU speaks it: on connect QEMU sends a greeting `{"QMP": {version, capabilities}}`;
 * the client answers `qmp_capabilities` and only then may run commands. Every message is one JSON
 * object on one line (QEMU ends lines with CRLF). A command `{"execute", "arguments", "id"}` gets
 * exactly one reply carrying the same `id`: `{"return": ...}` or `{"error": {"class", "desc"}}`.
 * Replies come in command order; events `{"event", "data", "timestamp"}` may come at any time,
 * between replies. When QEMU exits its end of the socket closes: that is the "QEMU went away"
 * signal (`closed`), which needs no pid and no polling.
 *
 * The transport knows nothing of domains or of particular commands (see `client.ts`).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { isErrno, monotonicMs, ToolstackError } from '../../common/index.js';

export interface QmpVersion {
  readonly qemu: { readonly major: number; readonly minor: number; readonly micro: number };
  readonly package: string;
}

export interface QmpGreeting {
  readonly version: QmpVersion;
  readonly capabilities: readonly string[];
}

export interface QmpEvent {
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** QEMU's clock when it emitted the event. */
  readonly timestamp: { readonly seconds: number; readonly microseconds: number };
}

/**
 * Why the connection ended: QEMU closed it (`eof`, also when its exit resets the connection), a
 * socket error, or our own `close()`.
 */
export interface QmpClosed {
  readonly reason: 'eof' | 'error' | 'local';
  readonly error?: Error;
}

/** A command QEMU answered with `{"error": ...}`: code `QEMU`, message QEMU's `desc`. */
export class QmpCommandError extends ToolstackError {
  override readonly name: string = 'QmpCommandError';
  /** QEMU's error class (`GenericError`, `DeviceNotFound`, `CommandNotFound`, ...). */
  readonly errorClass: string;
  readonly desc: string;
  readonly command: string;

  constructor(command: string, errorClass: string, desc: string) {
    super('QEMU', desc, { hint: `QEMU refused the QMP command '${command}' (${errorClass})` });
    this.errorClass = errorClass;
    this.desc = desc;
    this.command = command;
  }
}

/** The connection ended before a reply came (QEMU exited or the socket was closed). */
export class QmpClosedError extends ToolstackError {
  override readonly name: string = 'QmpClosedError';
  readonly command: string | undefined;

  constructor(command: string | undefined, closed: QmpClosed) {
    const what = command === undefined ? 'QMP connection' : `QMP command '${command}'`;
    const why = closed.reason === 'local' ? 'the connection was closed' :
      `QEMU went away (${closed.error === undefined ? 'socket closed' : closed.error.message})`;
    super('QEMU', `${what} failed: ${why}`, closed.error === undefined ? {} : { cause: closed.error });
    this.command = command;
  }
}

/**
 * QEMU did not answer a command in time: it is stopped (SIGSTOP), hung, or starved. The command
 * may still run later; its late reply is ignored.
 */
export class QmpTimeoutError extends ToolstackError {
  override readonly name: string = 'QmpTimeoutError';
  readonly command: string;

  constructor(command: string, timeoutMs: number) {
    super('QEMU', `QMP command '${command}' got no answer within ${timeoutMs} ms: QEMU is not responding`, {
      hint: 'QEMU may be stopped (SIGSTOP) or hung; `xl destroy` still ends the domain',
    });
    this.command = command;
  }
}

/** How long a command may wait for its reply unless the call says otherwise. */
export const QMP_COMMAND_TIMEOUT_MS = 5000;

export interface QmpConnectOptions {
  /** Give up when the greeting and capability negotiation take longer (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Default deadline of each command's reply (default `QMP_COMMAND_TIMEOUT_MS`). */
  readonly commandTimeoutMs?: number;
  /**
   * Called when an event listener throws (a bug: listeners only queue work). The other
   * listeners run regardless. Default: rethrow outside the transport (an uncaught exception).
   */
  readonly onListenerError?: (error: unknown, event: QmpEvent) => void;
}

type Pending = {
  readonly command: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
};

export interface QmpExecuteOptions {
  /** Deadline of the reply, ms; 0 = none (commands that run for long, such as a memory dump). */
  readonly timeoutMs?: number;
}

export type QmpEventListener = (event: QmpEvent) => void;

export class QmpTransport {
  readonly greeting: QmpGreeting;
  /** Resolves once, when the connection ends for any reason. Never rejects. */
  readonly closed: Promise<QmpClosed>;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  /** In subscription order; `name` '*' takes every event. */
  readonly #listeners = new Set<{ readonly name: string; readonly listener: QmpEventListener }>();
  /** Subscriptions per event name: an event nobody subscribed to is dropped before it is parsed. */
  readonly #wanted = new Map<string, number>();
  /** Events dropped since `#dropWindowStart` (see FLOOD_DROPS). */
  #drops = 0;
  #dropWindowStart = 0;
  readonly #closeListeners = new Set<(closed: QmpClosed) => void>();
  #nextId = 1;
  #closedWith: QmpClosed | undefined;
  #resolveClosed!: (c: QmpClosed) => void;

  readonly #onListenerError: (error: unknown, event: QmpEvent) => void;
  readonly #commandTimeoutMs: number;

  private constructor(socket: Socket, greeting: QmpGreeting, options: QmpConnectOptions) {
    this.#socket = socket;
    this.greeting = greeting;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? QMP_COMMAND_TIMEOUT_MS;
    this.#onListenerError = options.onListenerError ?? ((e) => queueMicrotask(() => { throw e; }));
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
  }

  /**
   * Connects to the QMP socket at `path`, reads the greeting and negotiates capabilities.
   * Fails with a `QEMU` ToolstackError when nothing listens there, or QEMU closes or stays
   * silent (past `timeoutMs`) before the connection is ready.
   */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpTransport> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const socket = netConnect(path);
    const lines = new LineSplitter();
    const transport = await new Promise<QmpTransport>((resolve, reject) => {
      const fail = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ToolstackError('QEMU', `Connecting to QMP socket '${path}' failed: ${e.message}`, { cause: e }));
      };
      const timer = setTimeout(() => fail(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
      const onClose = (): void => fail(new Error('QEMU closed the connection'));
      const onData = (chunk: Buffer): void => {
        lines.push(chunk);
        for (let line = lines.next(); line !== undefined; line = lines.next()) {
          let qmp: unknown;
          try {
            qmp = parseMessage(line)['QMP'];
          } catch (e) {
            fail(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          if (!isRecord(qmp)) continue;
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', fail);
          socket.off('close', onClose);
          const t = new QmpTransport(socket, toGreeting(qmp), options);
          t.#attach(lines);
          resolve(t);
          return;
        }
      };
      socket.on('error', fail);
      socket.on('close', onClose);
      socket.on('data', onData);
    });
    const timer = setTimeout(() => transport.close(), timeoutMs);
    try {
      await transport.execute('qmp_capabilities');
    } catch (e) {
      transport.close();
      const why = e instanceof Error ? e.message : String(e);
      throw new ToolstackError('QEMU', `QMP capability negotiation on '${path}' failed: ${why}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    return transport;
  }

  /**
   * Runs one QMP command. Resolves with QEMU's `return` value; rejects with `QmpCommandError`
   * when QEMU answers with an error, `QmpClosedError` when the connection ends first,
   * `QmpTimeoutError` when no reply comes by the deadline.
   */
  execute(command: string, args?: Readonly<Record<string, unknown>>, options: QmpExecuteOptions = {}): Promise<unknown> {
    if (this.#closedWith !== undefined) return Promise.reject(new QmpClosedError(command, this.#closedWith));
    const id = this.#nextId++;
    const msg = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => {
        if (this.#pending.delete(id)) reject(new QmpTimeoutError(command, timeoutMs));
      }, timeoutMs) : undefined;
      timer?.unref();
      this.#pending.set(id, { command, resolve, reject, timer });
      this.#socket.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /**
   * Calls `listener` for every event named `name` (`'*'`: every event), synchronously, in arrival
   * order. Returns an unsubscribe. A listener that throws goes to `onListenerError` (see
   * QmpConnectOptions). Events no listener names are not parsed at all: a guest can make its
   * QEMU emit some (GUEST_CRASHLOADED, DEVICE_TRAY_MOVED) as fast as it writes an I/O port.
   */
  onEvent(name: string, listener: QmpEventListener): () => void {
    const entry = { name, listener };
    this.#listeners.add(entry);
    this.#wanted.set(name, (this.#wanted.get(name) ?? 0) + 1);
    return () => {
      if (!this.#listeners.delete(entry)) return;
      const n = (this.#wanted.get(name) ?? 1) - 1;
      if (n === 0) this.#wanted.delete(name);
      else this.#wanted.set(name, n);
    };
  }

  /** Calls `listener` once when the connection ends (at once if it has). Returns an unsubscribe. */
  onClose(listener: (closed: QmpClosed) => void): () => void {
    if (this.#closedWith !== undefined) {
      listener(this.#closedWith);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => { this.#closeListeners.delete(listener); };
  }

  /** True once the connection has ended. */
  get isClosed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Ends the connection (QEMU keeps running); pending commands reject. Idempotent. */
  close(): void {
    this.#finish({ reason: 'local' });
    this.#socket.destroy();
  }

  #attach(lines: LineSplitter): void {
    const socket = this.#socket;
    const drain = (): void => {
      for (let line = lines.next(); line !== undefined && !this.isClosed; line = lines.next()) this.#dispatch(line);
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        lines.push(chunk);
      } catch (error: unknown) {
        this.#finish({ reason: 'error', error: error as Error });
        socket.destroy();
        return;
      }
      drain();
      this.#throttleFlood();
    });
    socket.on('error', (error) => this.#finish(isErrno(error, 'ECONNRESET') || isErrno(error, 'EPIPE') ? { reason: 'eof' } : { reason: 'error', error }));
    socket.on('close', () => this.#finish({ reason: 'eof' }));
    drain(); // lines that came in the greeting's chunk
  }

  /**
   * A guest can make its QEMU emit events as fast as it writes an I/O port (60,000 a second
   * here), a few per read: dom0d spent a core on the reads alone. Past FLOOD_DROPS dropped in a
   * second, the socket is read every FLOOD_PAUSE_MS instead, in large reads; the socket's own
   * buffer holds what comes meanwhile, so QEMU never has to keep any.
   */
  #throttleFlood(): void {
    const now = monotonicMs();
    if (now - this.#dropWindowStart >= 1000) {
      this.#dropWindowStart = now;
      this.#drops = 0;
      return;
    }
    if (this.#drops < FLOOD_DROPS || this.isClosed) return;
    this.#socket.pause();
    setTimeout(() => { if (!this.isClosed) this.#socket.resume(); }, FLOOD_PAUSE_MS);
  }

  #dispatch(line: string): void {
    if (!this.#wanted.has('*')) {
      const name = EVENT_PREFIX.exec(line)?.[1];
      if (name !== undefined && !this.#wanted.has(name)) {
        this.#drops++;
        return;
      }
    }
    let msg: Record<string, unknown>;
    try {
      msg = parseMessage(line);
    } catch (e) {
      this.#finish({ reason: 'error', error: e instanceof Error ? e : new Error(String(e)) });
      this.#socket.destroy();
      return;
    }
    if (typeof msg['event'] === 'string') {
      const event = toEvent(msg);
      for (const { name, listener } of [...this.#listeners]) {
        if (name !== '*' && name !== event.event) continue;
        try {
          listener(event);
        } catch (e) {
          this.#onListenerError(e, event);
        }
      }
      return;
    }
    const id = msg['id'];
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (pending === undefined) return; // a reply to nobody (a timed-out command, QEMU's answer to a malformed line)
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    const error = msg['error'];
    if (isRecord(error)) {
      const cls = typeof error['class'] === 'string' ? error['class'] : 'GenericError';
      const desc = typeof error['desc'] === 'string' ? error['desc'] : JSON.stringify(error);
      pending.reject(new QmpCommandError(pending.command, cls, desc));
    } else {
      pending.resolve(msg['return']);
    }
  }

  #finish(closed: QmpClosed): void {
    if (this.#closedWith !== undefined) return;
    this.#closedWith = closed;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new QmpClosedError(p.command, closed));
    }
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const l of listeners) l(closed);
    this.#resolveClosed(closed);
  }
}

/**
 * The longest QMP line taken (QEMU's largest replies, `query-qmp-schema` and a monitor command's
 * text, are well under 1 MiB): a QEMU that sends more without a newline (gone wrong, or the guest's
 * own code) has its connection ended instead of dom0d's memory filled.
 */
const MAX_LINE_CHARS = 16 << 20;

/** Splits a byte stream into lines (LF or CRLF); a partial last line waits for the next chunk. */
const FLOOD_DROPS = 2000;
const FLOOD_PAUSE_MS = 10;

/** The start of an event line as QEMU writes it: `{"timestamp": {...}, "event": "NAME"`. */
const EVENT_PREFIX = /^\{\s*"timestamp"\s*:\s*\{[^{}]*\}\s*,\s*"event"\s*:\s*"([A-Za-z0-9_-]+)"/;

class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  /** The partial last line, in pieces (joined once its newline comes: no copy per chunk). */
  #rest: string[] = [];
  #restChars = 0;
  readonly #lines: string[] = [];

  /** Throws once the partial line is longer than MAX_LINE_CHARS. */
  push(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    if (!text.includes('\n')) {
      this.#rest.push(text);
      this.#restChars += text.length;
      if (this.#restChars > MAX_LINE_CHARS) throw new Error(`QEMU sent a line of more than ${MAX_LINE_CHARS} characters`);
      return;
    }
    const parts = (this.#rest.join('') + text).split('\n');
    const last = parts.pop() ?? '';
    this.#rest = last === '' ? [] : [last];
    this.#restChars = last.length;
    for (const p of parts) {
      const line = p.trim();
      if (line !== '') this.#lines.push(line);
    }
  }

  next(): string | undefined {
    return this.#lines.shift();
  }
}

function parseMessage(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ToolstackError('QEMU', `QMP peer sent a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (!isRecord(v)) throw new ToolstackError('QEMU', `QMP peer sent a non-object: ${JSON.stringify(line.slice(0, 200))}`);
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toGreeting(qmp: Record<string, unknown>): QmpGreeting {
  const version = isRecord(qmp['version']) ? qmp['version'] : {};
  const q = isRecord(version['qemu']) ? version['qemu'] : {};
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    version: {
      qemu: { major: num(q['major']), minor: num(q['minor']), micro: num(q['micro']) },
      package: typeof version['package'] === 'string' ? version['package'] : '',
    },
    capabilities: Array.isArray(qmp['capabilities']) ? qmp['capabilities'].map(String) : [],
  };
}

function toEvent(msg: Record<string, unknown>): QmpEvent {
  const ts = isRecord(msg['timestamp']) ? msg['timestamp'] : {};
  return {
    event: msg['event'] as string,
    data: isRecord(msg['data']) ? msg['data'] : {},
    timestamp: {
      seconds: typeof ts['seconds'] === 'number' ? ts['seconds'] : 0,
      microseconds: typeof ts['microseconds'] === 'number' ? ts['microseconds'] : 0,
    },
  };
}
