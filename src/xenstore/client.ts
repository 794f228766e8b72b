/**
 * XenstoreClient: a typed client of the xenstore wire protocol, over the Unix socket (found as
 * Xen's clients find it: `$XENSTORED_PATH`, else `$XENSTORED_RUNDIR/socket`, else
 * `/var/run/xenstored/socket`) or wired in-process to dom0d's own server.
 *
 * Requests carry increasing req_ids and may be pipelined; replies are matched by req_id. Watch
 * events are routed by token to the iterator `watch()` returned. `transaction(fn)` runs `fn`
 * inside a transaction and runs it again from the start when the commit fails with EAGAIN.
 *
 * Failures are rejected promises, never exceptions or rejections nobody holds: a request whose
 * payload exceeds PAYLOAD_MAX is refused before it is sent (E2BIG, as libxenstore does), and a
 * server frame announcing more than PAYLOAD_MAX bytes closes the connection (what was pending
 * rejects with ECONNRESET).
 */
import { connect as netConnect } from 'node:net';
import { ToolstackError } from '../common/index.js';
import type { XsErrno } from './wire.js';
import { encodeMessage, encodeStrings, FrameReader, FrameTooLarge, isXsErrno, PAYLOAD_MAX, splitStrings, XsType } from './wire.js';

/** A failed request: `errno` is the name the server sent (ENOENT, EACCES, EAGAIN, ...). */
export class XenstoreError extends ToolstackError {
  override readonly name: string = 'XenstoreError';
  constructor(
    readonly errno: XsErrno | 'ECONNRESET',
    readonly request: string,
    readonly path?: string,
  ) {
    super('XS_PROTOCOL', `Xenstore ${request}${path === undefined ? '' : ` '${path}'`} failed: ${errno}`);
  }
}

/** The byte stream under a client. */
export interface ClientTransport {
  send(buf: Buffer): void;
  close(): void;
  /** Installs the receivers; called once, by the client's constructor. */
  attach(onData: (buf: Buffer) => void, onClose: () => void): void;
}

/** The socket path Xen's clients would use. */
export function defaultXenstoredPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['XENSTORED_PATH'] ?? `${env['XENSTORED_RUNDIR'] ?? '/var/run/xenstored'}/socket`;
}

export interface WatchEvent {
  readonly path: string;
  readonly token: string;
}

/** A registered watch: iterate its events (the first is the immediate one); `close()` unwatches. */
export interface XsWatch extends AsyncIterable<WatchEvent> {
  readonly path: string;
  readonly token: string;
  next(): Promise<WatchEvent>;
  close(): Promise<void>;
}

/** Operations that can run inside a transaction (`tx` = its id). */
export interface XsOps {
  read(path: string): Promise<Buffer>;
  readString(path: string): Promise<string>;
  /** The value, or undefined if the node does not exist. */
  tryRead(path: string): Promise<string | undefined>;
  write(path: string, value: string | Buffer): Promise<void>;
  mkdir(path: string): Promise<void>;
  rm(path: string): Promise<void>;
  directory(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  getPerms(path: string): Promise<string[]>;
  setPerms(path: string, perms: readonly string[]): Promise<void>;
}

interface Pending {
  resolve(b: Buffer): void;
  reject(e: Error): void;
  readonly request: string;
  readonly path: string | undefined;
}

const NAMES = new Map<number, string>(Object.entries(XsType).map(([k, v]) => [v, k]));

class WatchQueue {
  readonly events: WatchEvent[] = [];
  readonly waiters: { resolve(e: WatchEvent): void; reject(e: Error): void }[] = [];
  closed: Error | undefined;

  push(ev: WatchEvent): void {
    const w = this.waiters.shift();
    if (w) w.resolve(ev);
    else this.events.push(ev);
  }

  end(err: Error): void {
    this.closed = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  next(): Promise<WatchEvent> {
    const ev = this.events.shift();
    if (ev) return Promise.resolve(ev);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

let tokenSeq = 0;

export class XenstoreClient {
  readonly #transport: ClientTransport;
  readonly #reader = new FrameReader();
  readonly #pending = new Map<number, Pending>();
  readonly #watches = new Map<string, WatchQueue>();
  #reqId = 0;
  #closed = false;

  constructor(transport: ClientTransport) {
    this.#transport = transport;
    transport.attach((b) => this.#onData(b), () => this.#onClose());
  }

  /** Connects to the socket at `path` (default: where Xen's clients look). */
  static connect(path: string = defaultXenstoredPath()): Promise<XenstoreClient> {
    return new Promise((resolve, reject) => {
      const sock = netConnect(path);
      sock.once('error', (e) => reject(new ToolstackError('DAEMON_UNAVAILABLE', `Connecting to xenstored at '${path}' failed: ${e.message}`, { cause: e })));
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        sock.on('error', () => sock.destroy());
        resolve(new XenstoreClient({
          send: (buf) => void sock.write(buf),
          close: () => sock.end(),
          attach: (onData, onClose) => {
            sock.on('data', onData);
            sock.on('close', onClose);
          },
        }));
      });
    });
  }

  #onData(chunk: Buffer): void {
    let msgs;
    try {
      msgs = this.#reader.push(chunk);
    } catch (e) {
      if (!(e instanceof FrameTooLarge)) throw e;
      this.close();
      return;
    }
    for (const m of msgs) {
      if (m.type === XsType.WATCH_EVENT) {
        const [path, token] = splitStrings(m.payload);
        if (path !== undefined && token !== undefined) this.#watches.get(token)?.push({ path, token });
        continue;
      }
      const p = this.#pending.get(m.reqId);
      if (p === undefined) continue;
      this.#pending.delete(m.reqId);
      if (m.type === XsType.ERROR) {
        const name = m.payload.toString('latin1').replace(/\0.*$/s, '');
        p.reject(new XenstoreError(isXsErrno(name) ? name : 'EINVAL', p.request, p.path));
      } else {
        p.resolve(m.payload);
      }
    }
  }

  #onClose(): void {
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(new XenstoreError('ECONNRESET', p.request, p.path));
    this.#pending.clear();
    for (const q of this.#watches.values()) q.end(new XenstoreError('ECONNRESET', 'WATCH'));
  }

  /** Sends one request; resolves with the reply payload, rejects with a XenstoreError. */
  request(type: number, payload: Buffer, opts: { tx?: number; path?: string } = {}): Promise<Buffer> {
    const request = NAMES.get(type) ?? String(type);
    if (this.#closed) return Promise.reject(new XenstoreError('ECONNRESET', request, opts.path));
    if (payload.length > PAYLOAD_MAX) return Promise.reject(new XenstoreError('E2BIG', request, opts.path));
    this.#reqId = (this.#reqId + 1) >>> 0;
    const reqId = this.#reqId;
    return new Promise((resolve, reject) => {
      this.#pending.set(reqId, { resolve, reject, request, path: opts.path });
      this.#transport.send(encodeMessage(type, reqId, opts.tx ?? 0, payload));
    });
  }

  #ops(tx: number): XsOps {
    const str = (type: number, p: string, extra: readonly string[] = []): Promise<Buffer> =>
      this.request(type, encodeStrings([p, ...extra]), { tx, path: p });
    const ops: XsOps = {
      read: (p) => str(XsType.READ, p),
      readString: async (p) => (await str(XsType.READ, p)).toString('utf8'),
      tryRead: async (p) => {
        try {
          return await ops.readString(p);
        } catch (e) {
          if (e instanceof XenstoreError && e.errno === 'ENOENT') return undefined;
          throw e;
        }
      },
      write: async (p, value) => {
        const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        await this.request(XsType.WRITE, Buffer.concat([Buffer.from(`${p}\0`, 'latin1'), v]), { tx, path: p });
      },
      mkdir: async (p) => void (await str(XsType.MKDIR, p)),
      rm: async (p) => void (await str(XsType.RM, p)),
      directory: async (p) => {
        try {
          return splitStrings(await str(XsType.DIRECTORY, p));
        } catch (e) {
          if (e instanceof XenstoreError && e.errno === 'E2BIG') return this.#directoryParts(p, tx);
          throw e;
        }
      },
      exists: async (p) => {
        try {
          await str(XsType.READ, p);
          return true;
        } catch (e) {
          if (e instanceof XenstoreError && e.errno === 'ENOENT') return false;
          throw e;
        }
      },
      getPerms: async (p) => splitStrings(await str(XsType.GET_PERMS, p)),
      setPerms: async (p, perms) => void (await str(XsType.SET_PERMS, p, perms)),
    };
    return ops;
  }

  /** A long child list, fetched with DIRECTORY_PART (restarted if the node changes meanwhile). */
  async #directoryParts(p: string, tx: number): Promise<string[]> {
    for (;;) {
      let gen: string | undefined;
      let off = 0;
      const names: string[] = [];
      for (;;) {
        const reply = await this.request(XsType.DIRECTORY_PART, encodeStrings([p, String(off)]), { tx, path: p });
        const parts = splitStrings(reply);
        const g = parts.shift();
        if (gen !== undefined && g !== gen) break;
        gen = g;
        const end = reply.length >= 2 && reply[reply.length - 1] === 0 && reply[reply.length - 2] === 0;
        const got = parts.filter((x) => x !== '');
        for (const n of got) {
          names.push(n);
          off += Buffer.byteLength(n, 'latin1') + 1;
        }
        if (end || got.length === 0) return names;
      }
    }
  }

  readonly #plain: XsOps = this.#ops(0);
  read(path: string): Promise<Buffer> { return this.#plain.read(path); }
  readString(path: string): Promise<string> { return this.#plain.readString(path); }
  tryRead(path: string): Promise<string | undefined> { return this.#plain.tryRead(path); }
  write(path: string, value: string | Buffer): Promise<void> { return this.#plain.write(path, value); }
  mkdir(path: string): Promise<void> { return this.#plain.mkdir(path); }
  rm(path: string): Promise<void> { return this.#plain.rm(path); }
  directory(path: string): Promise<string[]> { return this.#plain.directory(path); }
  exists(path: string): Promise<boolean> { return this.#plain.exists(path); }
  getPerms(path: string): Promise<string[]> { return this.#plain.getPerms(path); }
  setPerms(path: string, perms: readonly string[]): Promise<void> { return this.#plain.setPerms(path, perms); }

  /** Starts a transaction; returns its id. Prefer `transaction(fn)`. */
  async startTransaction(): Promise<number> {
    const reply = await this.request(XsType.TRANSACTION_START, Buffer.from([0]));
    return Number(splitStrings(reply)[0]);
  }

  /** Commits (or aborts) a transaction; a commit conflict rejects with errno EAGAIN. */
  async endTransaction(tx: number, commit: boolean): Promise<void> {
    await this.request(XsType.TRANSACTION_END, encodeStrings([commit ? 'T' : 'F']), { tx });
  }

  /**
   * Runs `fn` in a transaction and commits; on EAGAIN runs it again (up to `maxAttempts`). If
   * `fn` throws, the transaction is aborted and the error propagates.
   */
  async transaction<T>(fn: (tx: XsOps) => Promise<T>, opts: { maxAttempts?: number } = {}): Promise<T> {
    const max = opts.maxAttempts ?? 100;
    for (let attempt = 1; ; attempt++) {
      const id = await this.startTransaction();
      let result: T;
      try {
        result = await fn(this.#ops(id));
      } catch (e) {
        await this.endTransaction(id, false).catch(() => undefined);
        throw e;
      }
      try {
        await this.endTransaction(id, true);
        return result;
      } catch (e) {
        if (!(e instanceof XenstoreError && e.errno === 'EAGAIN') || attempt >= max) throw e;
      }
    }
  }

  /** Watches `path` (absolute or relative to the caller's home). */
  async watch(path: string, token = `dom0-${process.pid}-${++tokenSeq}`): Promise<XsWatch> {
    const queue = new WatchQueue();
    if (this.#watches.has(token)) throw new XenstoreError('EEXIST', 'WATCH', path);
    this.#watches.set(token, queue);
    try {
      await this.request(XsType.WATCH, encodeStrings([path, token]), { path });
    } catch (e) {
      this.#watches.delete(token);
      throw e;
    }
    const close = async (): Promise<void> => {
      if (!this.#watches.delete(token)) return;
      queue.end(new XenstoreError('ENOENT', 'WATCH', path));
      if (!this.#closed) await this.request(XsType.UNWATCH, encodeStrings([path, token]), { path });
    };
    return {
      path,
      token,
      next: () => queue.next(),
      close,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<WatchEvent>> => {
          try {
            return { done: false, value: await queue.next() };
          } catch {
            return { done: true, value: undefined };
          }
        },
        return: async (): Promise<IteratorResult<WatchEvent>> => {
          await close();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  async getDomainPath(domid: number): Promise<string> {
    return splitStrings(await this.request(XsType.GET_DOMAIN_PATH, encodeStrings([String(domid)])))[0] ?? '';
  }

  /** INTRODUCE; xenstored refuses an event channel port of 0, so the default stands in with 1. */
  async introduce(domid: number, gfn = 0, evtchn = 1): Promise<void> {
    await this.request(XsType.INTRODUCE, encodeStrings([String(domid), String(gfn), String(evtchn)]));
  }

  async release(domid: number): Promise<void> {
    await this.request(XsType.RELEASE, encodeStrings([String(domid)]));
  }

  async resume(domid: number): Promise<void> {
    await this.request(XsType.RESUME, encodeStrings([String(domid)]));
  }

  async isDomainIntroduced(domid: number): Promise<boolean> {
    return splitStrings(await this.request(XsType.IS_DOMAIN_INTRODUCED, encodeStrings([String(domid)])))[0] === 'T';
  }

  async setTarget(domid: number, target: number): Promise<void> {
    await this.request(XsType.SET_TARGET, encodeStrings([String(domid), String(target)]));
  }

  async resetWatches(): Promise<void> {
    await this.request(XsType.RESET_WATCHES, Buffer.from([0]));
    for (const q of this.#watches.values()) q.end(new XenstoreError('ENOENT', 'RESET_WATCHES'));
    this.#watches.clear();
  }

  /** CONTROL with `args` (e.g. `['quota', 'set', 'nodes', '2000']`); returns the reply text. */
  async control(args: readonly string[]): Promise<string> {
    return (await this.request(XsType.CONTROL, encodeStrings(args))).toString('latin1').replace(/\0$/, '');
  }

  /** GET_QUOTA without arguments: the quota names xenstored supports, in its order. */
  async getQuotaNames(): Promise<string[]> {
    return splitStrings(await this.request(XsType.GET_QUOTA, Buffer.alloc(0)))[0]?.split(' ').filter((n) => n !== '') ?? [];
  }

  async getQuota(name: string, domid?: number): Promise<number> {
    const args = domid === undefined ? [name] : [String(domid), name];
    return Number(splitStrings(await this.request(XsType.GET_QUOTA, encodeStrings(args)))[0]);
  }

  async setQuota(name: string, value: number, domid?: number): Promise<void> {
    const args = domid === undefined ? [name, String(value)] : [String(domid), name, String(value)];
    await this.request(XsType.SET_QUOTA, encodeStrings(args));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
    this.#onClose();
  }
}
