/**
 * xenstored: the server core and its sockets.
 *
 * Sockets (all mode 0600): the privileged socket (`socketPath`; its clients act as dom0 and
 * bypass permissions and quotas) and, for each introduced domain, a domain socket
 * `<domainSocketDir>/domain-<domid>.sock` whose clients act as that domain: unprivileged,
 * relative paths under `/local/domain/<domid>`, subject to permissions and quotas — what a Xen
 * guest sees through its ring. A domain socket opens when the domain is introduced (INTRODUCE on
 * the wire or `introduceDomain()`) and closes, dropping its clients, when it is released.
 *
 * Request flow: frame → table lookup by wire type (`handlers.ts`; unknown → ENOSYS, privileged-
 * only from an unprivileged caller → EACCES, bad transaction id → ENOENT) → operation on the live
 * tree or the caller's transaction → the resulting records become one journal frame → watch
 * events → the reply. Messages reach clients only once the frames before them are durable.
 *
 * Batches: the requests run between two journal groups form a batch, written as one group.
 * While a group is being written no request runs (each waits, parked, in its connection); once
 * a batch has a change not yet on disk, only requests that change the live state (handlers.ts
 * `mutates`, outside a transaction) join it, so no reply ever depends on a change that may still
 * fail. If the group fails (journal.ts), the store rolls back to what is on disk, every request
 * of the batch gets the failure's errno (ENOSPC or EIO) instead of its reply, the watch events
 * of its changes are dropped, and serving goes on with the next batch. A RELEASE so refused has
 * still dropped the domain's connections; the domain stays introduced.
 *
 * Bounds (what clients that never read, or open many connections, can hold): each connection's
 * flow and backlog as connection.ts says; the backlogs past its BACKLOG_SHARED together within
 * BACKLOG_BUDGET (the largest are dropped first); at most `maxConnections` socket clients (more
 * are closed as they come), of which the domain sockets' clients hold at most three quarters
 * together and an eighth each domain: a guest's socket cannot lock dom0's tools out. A client
 * dropped for a bound is logged, once a minute with a count.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { quietLog, ToolstackError } from '../common/index.js';
import { bindUnixSocket, socketPathProblem } from '../host/index.js';
import type { ClientTransport } from './client.js';
import { XenstoreClient } from './client.js';
import type { ConnectionHost, Transport } from './connection.js';
import { Connection, MESSAGE_OVERHEAD } from './connection.js';
import { OPERATIONS } from './handlers.js';
import { Journal } from './journal.js';
import { describeDamage } from './recovery.js';
import type { QuotaName } from './quota.js';
import { Quotas } from './quota.js';
import type { StateWriteError } from './state-dir.js';
import { Store } from './store.js';
import type { Transaction } from './transaction.js';
import type { ChangeEvent, OpContext, TreeView } from './tree.js';
import { removeNode } from './tree.js';
import { WatchTable } from './watch.js';
import type { XsMessage } from './wire.js';
import { encodeMessage, PAYLOAD_MAX, XsFault, XsType } from './wire.js';

/** What the backlogs past connection.ts's BACKLOG_SHARED may hold together; the largest go first past it. */
const BACKLOG_BUDGET = 32 * 1024 * 1024;
/** What a watch or a transaction itself counts against its domain's `memory` quota (beside its paths and copies). */
const WATCH_OR_TX_BYTES = 64;
/** Socket clients served at once, by default. */
const MAX_CONNECTIONS = 1024;

export interface XenstoredOptions {
  /** The privileged socket (Xen's clients: `XENSTORED_PATH`). */
  readonly socketPath: string;
  /** Journal and snapshot directory. */
  readonly stateDir: string;
  /** Where domain sockets go; default: the privileged socket's directory. */
  readonly domainSocketDir?: string;
  readonly quotas?: Partial<Record<QuotaName, number>>;
  /** Keep nodes owned by a released domain (C `--keep-orphans`). */
  readonly keepOrphans?: boolean;
  /** Clients on sockets served at once (MAX_CONNECTIONS); more are closed as they connect. */
  readonly maxConnections?: number;
  /** Journal size that triggers a snapshot (bytes). */
  readonly compactBytes?: number;
  /**
   * Whether a domain `domid` exists (dom0d's records): when given, INTRODUCE on the wire of one
   * not introduced yet that does not is EINVAL, as Xen's xenstored cannot map the ring of a
   * domain that does not exist. An introduction holds a socket and outlives a restart: a client
   * introducing made-up domids took every descriptor dom0d had, for good.
   */
  readonly domainExists?: (domid: number) => boolean;
  /**
   * Diagnostic lines: damage found in the state directory at start, journal writes that failed
   * (and the requests refused for them), compactions that failed; CONTROL `log on` also logs
   * every request.
   */
  readonly log?: (line: string) => void;
}

export interface XenstoredHandle {
  readonly socketPath: string;
  /** Path of the domain socket of `domid` (whether or not it is open). */
  domainSocketPath(domid: number): string;
  /**
   * Introduces a domain: opens its socket, fires `@introduceDomain`; returns the socket path.
   * Rejects with a StateWriteError (XS_JOURNAL) when the change cannot be journalled.
   */
  introduceDomain(domid: number): Promise<string>;
  /** The domain shut down or crashed: fires `@releaseDomain` (once until RESUME). */
  domainShutdown(domid: number): void;
  /** Releases a domain: closes its socket, removes nodes it owns, fires `@releaseDomain` (rejects as `introduceDomain`). */
  releaseDomain(domid: number): Promise<void>;
  /** The domains introduced (dom0 aside). */
  introducedDomains(): number[];
  /** An in-process client, privileged (dom0) unless `domid` names another domain. */
  connect(domid?: number): XenstoreClient;
  /**
   * Serves a byte stream already open (e.g. a guest agent's virtio-serial port) as a
   * connection of `domid`, unprivileged unless dom0.
   */
  attachStream(stream: Duplex, domid: number): void;
  /** Stops listening, drops clients, makes the journal durable and closes it. */
  close(): Promise<void>;
}

/** A domain's runtime state; whether it is introduced, and its target, are in the store. */
interface DomainState {
  readonly domid: number;
  shutdown: boolean;
  listener: Server | undefined;
}

/** The live store as a TreeView; its watch events wait in the server until `flush`. */
class LiveView implements TreeView {
  constructor(
    private readonly store: Store,
    private readonly server: XenstoreServer,
  ) {}
  get(path: string): ReturnType<Store['get']> {
    return this.store.get(path);
  }
  put(path: string, data: Parameters<Store['set']>[1]): void {
    this.store.set(path, data);
  }
  removeTree(root: string, paths: readonly string[]): void {
    this.store.removeTree(root, paths);
  }
  changed(ev: ChangeEvent): void {
    this.server.queueEvent(ev);
  }
  ownedBy(domid: number): number {
    return this.store.ownedBy(domid);
  }
}

function streamTransport(sock: Duplex): Transport {
  let queued = 0;
  const taken = (): void => void queued--;
  return {
    write: (buf) => {
      queued++;
      return sock.write(buf, taken);
    },
    get pendingBytes() {
      return sock.writableLength + queued * MESSAGE_OVERHEAD;
    },
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    cork: () => sock.cork(),
    uncork: () => sock.uncork(),
    destroy: () => sock.destroy(),
  };
}

/** The state shared by every request handler. */
export class XenstoreServer implements ConnectionHost {
  readonly quotas: Quotas;
  readonly watches = new WatchTable();
  readonly connections = new Set<Connection>();
  readonly domains = new Map<number, DomainState>();
  logRequests = false;
  readonly live: TreeView;
  readonly #listeners = new Map<Server, string>();
  #events: ChangeEvent[] = [];
  #specials: string[] = [];
  /** Clients on a stream (sockets), not in process: what `maxConnections` bounds. */
  #streams = 0;
  /** Of those, the clients of domain sockets, and their count per domain. */
  #guestStreams = 0;
  readonly #streamsOf = new Map<number, number>();
  readonly #backlogs = new Map<Connection, number>();
  #backlogTotal = 0;
  /** Drops, logged once a minute per reason. */
  readonly #dropLog = quietLog((line) => this.log(line));
  /** Connections with parked requests, in the order they parked. */
  readonly #parked = new Set<Connection>();
  /** The store's change mark after each frame not yet settled. */
  #marks: { readonly seq: number; readonly mark: number }[] = [];

  constructor(
    readonly store: Store,
    readonly journal: Journal,
    readonly opts: XenstoredOptions,
  ) {
    this.quotas = new Quotas(opts.quotas);
    this.live = new LiveView(store, this);
    journal.onDurable = (seq) => this.#durable(seq);
    journal.onFailed = (seq, err) => this.#failed(seq, err);
  }

  get appendedSeq(): number {
    return this.journal.appended;
  }

  get settledSeq(): number {
    return this.journal.settled;
  }

  /** See the module comment (batches). */
  admits(msg: XsMessage): boolean {
    if (this.journal.writing) return false;
    if (this.journal.appended === this.journal.settled) return true;
    return OPERATIONS.get(msg.type)?.mutates === true && (msg.txId === 0 || msg.type === XsType.TRANSACTION_END);
  }

  park(conn: Connection): void {
    this.#parked.add(conn);
  }

  /** Runs the parked requests that may run now, connection by connection in parking order. */
  #resume(): void {
    const parked = [...this.#parked];
    this.#parked.clear();
    for (const c of parked) if (c.runParked()) this.#parked.add(c);
  }

  #durable(seq: number): void {
    let n = 0;
    while (n < this.#marks.length && this.#marks[n]!.seq <= seq) n++;
    if (n > 0) {
      this.store.confirm(this.#marks[n - 1]!.mark);
      this.#marks = n === this.#marks.length ? [] : this.#marks.slice(n);
    }
    for (const c of this.connections) if (c.holding) c.released(seq);
    this.#resume();
  }

  /** The frames up to `seq` failed: back to what is on disk, and their requests are refused. */
  #failed(seq: number, err: StateWriteError): void {
    this.store.rollback();
    this.#marks = [];
    this.#reconcileDomains();
    let refused = 0;
    for (const c of [...this.connections]) if (c.holding) refused += c.failed(seq, err.errno);
    this.log(`xenstored: ${err.message}; refused ${refused} request(s) with ${err.errno}`);
    this.#resume();
  }

  outstandingLimit(domid: number): number {
    return this.quotas.get('outstanding', domid);
  }

  log(line: string): void {
    this.opts.log?.(line);
  }

  get domainSocketDir(): string {
    return this.opts.domainSocketDir ?? dirname(this.opts.socketPath);
  }

  domainSocketPath(domid: number): string {
    return join(this.domainSocketDir, `domain-${domid}.sock`);
  }

  /** Listens on `path` (0600); each client becomes a connection of `domid`. */
  listen(path: string, domid: number, privileged: boolean): Server {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const server = createServer((sock) => this.accept(sock, domid, privileged));
    // An accept that fails (EMFILE) fails again at each client that comes: said once a minute.
    const said = quietLog((line) => this.log(line));
    server.on('error', (e) => said(`xenstored: socket ${path}: ${e.message}`));
    bindUnixSocket(server, path);
    this.#listeners.set(server, path);
    return server;
  }

  accept(sock: Duplex, domid: number, privileged: boolean): void {
    const full = this.#connectionsFull(domid, privileged);
    if (full !== undefined) {
      this.dropping(undefined, full);
      sock.destroy();
      return;
    }
    this.#streams++;
    if (!privileged) {
      this.#guestStreams++;
      this.#streamsOf.set(domid, (this.#streamsOf.get(domid) ?? 0) + 1);
    }
    const conn = new Connection(this, streamTransport(sock), domid, privileged);
    conn.target = this.store.domain(domid)?.target;
    this.connections.add(conn);
    sock.on('data', (chunk: Buffer) => conn.receive(chunk));
    sock.on('drain', () => conn.drained());
    sock.on('error', () => conn.close());
    sock.on('close', () => {
      this.#streams--;
      if (!privileged) {
        this.#guestStreams--;
        const left = (this.#streamsOf.get(domid) ?? 1) - 1;
        if (left === 0) this.#streamsOf.delete(domid);
        else this.#streamsOf.set(domid, left);
      }
      conn.close();
    });
  }

  /** Why a new socket client of `domid` is refused (see the bounds above), or undefined. */
  #connectionsFull(domid: number, privileged: boolean): string | undefined {
    const max = this.opts.maxConnections ?? MAX_CONNECTIONS;
    if (this.#streams >= max) return `${max} clients are connected`;
    if (privileged) return undefined;
    if (this.#guestStreams >= Math.floor(max * 3 / 4)) return `${this.#guestStreams} clients of domain sockets are connected`;
    const ofDomain = this.#streamsOf.get(domid) ?? 0;
    return ofDomain >= Math.max(1, Math.floor(max / 8)) ? `${ofDomain} clients of domain ${domid} are connected` : undefined;
  }

  /** An in-process client wired straight to a connection. */
  connectInProcess(domid: number): XenstoreClient {
    let toClient: (b: Buffer) => void = () => {};
    let clientClosed: () => void = () => {};
    const conn = new Connection(this, {
      write: (buf) => {
        toClient(buf);
        return true;
      },
      pendingBytes: 0,
      pause: () => {},
      resume: () => {},
      cork: () => {},
      uncork: () => {},
      destroy: () => queueMicrotask(() => clientClosed()),
    }, domid, domid === 0);
    conn.target = this.store.domain(domid)?.target;
    this.connections.add(conn);
    const transport: ClientTransport = {
      send: (buf) => conn.receive(buf),
      close: () => conn.close(),
      attach: (onData, onClose) => {
        toClient = onData;
        clientClosed = onClose;
      },
    };
    return new XenstoreClient(transport);
  }

  closed(conn: Connection): void {
    this.connections.delete(conn);
    this.#parked.delete(conn);
    for (const w of conn.watches.values()) this.watches.remove(w);
    conn.watches.clear();
    conn.transactions.clear();
    this.#backlogTotal -= this.#backlogs.get(conn) ?? 0;
    this.#backlogs.delete(conn);
  }

  backlogFits(conn: Connection, bytes: number): boolean {
    if (conn.closed) return false;
    this.#backlogTotal += bytes - (this.#backlogs.get(conn) ?? 0);
    if (bytes === 0) this.#backlogs.delete(conn);
    else this.#backlogs.set(conn, bytes);
    if (this.#backlogTotal <= BACKLOG_BUDGET) return true;
    // Over budget: drop the largest backlogs, as they are now, until the rest fit.
    this.#backlogTotal = 0;
    for (const c of this.#backlogs.keys()) {
      this.#backlogs.set(c, c.backlog);
      this.#backlogTotal += c.backlog;
    }
    while (this.#backlogTotal > BACKLOG_BUDGET) {
      let worst = conn;
      for (const [c, b] of this.#backlogs) if (b > (this.#backlogs.get(worst) ?? 0)) worst = c;
      this.dropping(worst, `its unread output and every other client's passed ${BACKLOG_BUDGET >> 20} MiB`);
      worst.close();
    }
    return !conn.closed;
  }

  dropping(conn: Connection | undefined, why: string): void {
    const who = conn === undefined ? 'a new client' : `client ${conn.id} (dom${conn.domid})`;
    this.#dropLog(`xenstored: dropped ${who}: ${why}`, why);
  }

  /** Transaction named by a request header (0 = none). */
  transactionOf(conn: Connection, txId: number): Transaction | undefined {
    if (txId === 0) return undefined;
    const tx = conn.transactions.get(txId);
    if (tx === undefined) throw new XsFault('ENOENT');
    return tx;
  }

  /** Transactions open by every connection of `domid`. */
  transactionCount(domid: number): number {
    let n = 0;
    for (const c of this.connections) if (c.domid === domid) n += c.transactions.size;
    return n;
  }

  /** What the `memory` quota counts for `domid`: the nodes it owns, its transactions' node copies, its watches. */
  memoryOf(domid: number): number {
    let n = this.store.bytesOwnedBy(domid);
    for (const c of this.connections) {
      if (c.domid !== domid) continue;
      for (const tx of c.transactions.values()) n += WATCH_OR_TX_BYTES + tx.bytes;
      for (const w of c.watches.values()) n += WATCH_OR_TX_BYTES + w.path.length + w.token.length;
    }
    return n;
  }

  watchCount(domid: number): number {
    let n = 0;
    for (const c of this.connections) if (c.domid === domid) n += c.watches.size;
    return n;
  }

  handle(conn: Connection, msg: XsMessage): void {
    let after: (() => void) | undefined;
    let type = msg.type;
    let reply: Buffer;
    try {
      const op = OPERATIONS.get(msg.type);
      if (op === undefined) throw new XsFault('ENOSYS');
      if (op.priv && !conn.privileged) throw new XsFault('EACCES');
      // A domain at its `memory` quota is refused what takes more (it may pass it by what one request takes).
      if (op.grows === true && !conn.privileged && this.quotas.exceeds('memory', conn.domid, this.memoryOf(conn.domid) + WATCH_OR_TX_BYTES + msg.payload.length)) {
        throw new XsFault('ENOSPC');
      }
      const tx = op.noTx ? undefined : this.transactionOf(conn, msg.txId);
      const ops: OpContext = { view: tx ?? this.live, who: conn, quotas: this.quotas };
      const run = (): Buffer => op.run({ server: this, conn, msg, tx, ops, afterReply: (fn) => (after = fn) });
      // A change that fails inside a transaction leaves it as it was (the live store's operations
      // check everything before their first change).
      reply = tx !== undefined && op.mutates === true ? tx.atomically(run) : run();
      if (reply.length > PAYLOAD_MAX) throw new XsFault('E2BIG');
      if (this.logRequests) this.log(`xenstored: conn ${conn.id} dom${conn.domid} ${op.name} ok`);
    } catch (e) {
      if (!(e instanceof XsFault)) {
        this.log(`xenstored: internal error on type ${msg.type}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      }
      type = XsType.ERROR;
      reply = Buffer.from(`${e instanceof XsFault ? e.errno : 'EIO'}\0`, 'latin1');
      if (this.logRequests) this.log(`xenstored: conn ${conn.id} dom${conn.domid} type ${msg.type} ${reply.toString('latin1', 0, reply.length - 1)}`);
    }
    this.flush();
    conn.send(encodeMessage(type, msg.reqId, msg.txId, reply));
    if (type !== XsType.ERROR) after?.();
  }

  queueEvent(ev: ChangeEvent): void {
    this.#events.push(ev);
  }

  /** Queues a special watch event (`@introduceDomain`, `@releaseDomain`). */
  queueSpecial(path: '@introduceDomain' | '@releaseDomain'): void {
    this.#specials.push(path);
  }

  /**
   * Ends a change: the store's pending records become one journal frame, then the queued watch
   * events go out (held by each connection until that frame is settled). Returns the frame's
   * sequence number, if there is one.
   */
  flush(): number | undefined {
    const records = this.store.takeRecords();
    let seq: number | undefined;
    if (records.length > 0) {
      seq = this.journal.append(records);
      this.#marks.push({ seq, mark: this.store.changeMark });
    }
    if (this.#events.length === 0 && this.#specials.length === 0) return seq;
    const events = this.#events;
    const specials = this.#specials;
    this.#events = [];
    this.#specials = [];
    const ofFrame = seq !== undefined;
    for (const ev of events) this.watches.fire(ev, ofFrame);
    for (const p of specials) this.watches.fireSpecial(p, this.store.get(p)?.perms, ofFrame);
    return seq;
  }

  /** `flush`, then waits for its frame; rejects with the StateWriteError if that frame failed. */
  async commit(): Promise<void> {
    const seq = this.flush();
    if (seq !== undefined) await this.journal.outcome(seq);
  }

  isIntroduced(domid: number): boolean {
    return domid === 0 || this.domains.has(domid);
  }

  /** Whether INTRODUCE of `domid` from the wire may go on (see `domainExists`). */
  mayIntroduce(domid: number): boolean {
    return this.isIntroduced(domid) || (this.opts.domainExists?.(domid) ?? true);
  }

  /** INTRODUCE: a new domain gets its socket and `@introduceDomain` fires. */
  introduce(domid: number): boolean {
    if (this.isIntroduced(domid)) return false;
    this.store.setDomain(domid, undefined);
    this.#openDomain(domid);
    this.queueSpecial('@introduceDomain');
    return true;
  }

  /** RELEASE: drops the domain's clients and socket, its nodes, then fires `@releaseDomain`. */
  release(domid: number): void {
    const d = this.domains.get(domid);
    if (d === undefined) throw new XsFault('ENOENT');
    this.domains.delete(domid);
    this.quotas.forget(domid);
    if (d.listener !== undefined) this.#closeListener(d.listener);
    for (const c of [...this.connections]) if (c.domid === domid) c.close();
    // A target names the domain it was set for, not whoever gets its domid next.
    for (const [other, rec] of [...this.store.domains()]) if (rec.target === domid) this.store.setDomain(other, undefined);
    for (const c of this.connections) if (c.target === domid) c.target = undefined;
    if (this.opts.keepOrphans !== true) this.removeOwnedBy(domid);
    this.store.dropDomain(domid);
    this.queueSpecial('@releaseDomain');
  }

  /** Removes every node owned by `domid` (with its subtree), as dom0. */
  removeOwnedBy(domid: number): void {
    if (this.store.ownedBy(domid) === 0) return;
    const ctx: OpContext = { view: this.live, who: { domid: 0, privileged: true }, quotas: this.quotas };
    const roots: string[] = [];
    const stack = ['/'];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.store.get(p);
      if (n === undefined) continue;
      if (p !== '/' && n.perms[0]?.id === domid) {
        roots.push(p);
        continue;
      }
      for (const c of n.children) stack.push(p === '/' ? `/${c}` : `${p}/${c}`);
    }
    for (const r of roots) removeNode(ctx, r);
  }

  /** SET_TARGET: both domains introduced (dom0 always is; its own callers are privileged). */
  setTarget(domid: number, target: number): void {
    if (!this.isIntroduced(domid) || !this.isIntroduced(target)) throw new XsFault('ENOENT');
    if (!this.domains.has(domid)) return;
    this.store.setDomain(domid, target);
    for (const c of this.connections) if (c.domid === domid) c.target = target;
  }

  domainShutdown(domid: number): void {
    const d = this.domains.get(domid);
    if (d === undefined || d.shutdown) return;
    d.shutdown = true;
    this.queueSpecial('@releaseDomain');
  }

  domain(domid: number): DomainState | undefined {
    return this.domains.get(domid);
  }

  #openDomain(domid: number): void {
    let d = this.domains.get(domid);
    if (d === undefined) {
      d = { domid, shutdown: false, listener: undefined };
      this.domains.set(domid, d);
    }
    d.listener ??= this.listen(this.domainSocketPath(domid), domid, false);
  }

  /** Opens the socket of every domain the store holds as introduced. */
  openDomains(): void {
    for (const [domid] of this.store.domains()) this.#openDomain(domid);
  }

  /** After a rollback: domains, their sockets and the connections' targets as the store has them. */
  #reconcileDomains(): void {
    for (const [domid, d] of [...this.domains]) {
      if (this.store.domain(domid) !== undefined) continue;
      this.domains.delete(domid);
      if (d.listener !== undefined) this.#closeListener(d.listener);
      for (const c of [...this.connections]) if (c.domid === domid) c.close();
    }
    this.openDomains();
    for (const c of this.connections) c.target = this.store.domain(c.domid)?.target;
  }

  #closeListener(server: Server): void {
    const path = this.#listeners.get(server);
    this.#listeners.delete(server);
    server.close();
    try {
      if (path !== undefined) unlinkSync(path);
    } catch {
      // already gone
    }
  }

  async shutdown(): Promise<void> {
    for (const s of [...this.#listeners.keys()]) this.#closeListener(s);
    for (const c of [...this.connections]) c.close();
    this.flush();
    await this.journal.close();
  }
}

/**
 * Starts xenstored: recovers the state from `stateDir` (reporting any damage through `log`; see
 * recovery.ts for what is trusted) or creates Xen's initial nodes, listens on `socketPath` and
 * the sockets of domains still introduced, and returns its handle.
 */
export async function startXenstored(opts: XenstoredOptions): Promise<XenstoredHandle> {
  // A xenstored that answers there is another's (a standalone one, another instance's): its
  // socket is not taken over.
  if ((await socketPathProblem(opts.socketPath))?.live === true) {
    throw new ToolstackError('DAEMON_RUNNING', `A xenstored already listens on ${opts.socketPath}`, {
      hint: 'stop it first, or give this one its own socket (DOM0_RUN_DIR, --socket)',
    });
  }
  const store = new Store();
  const { journal, damage } = Journal.open(opts.stateDir, {
    replay: (records) => {
      store.replay(records);
      store.repair();
      store.plantRoot();
    },
    dump: () => store.dump(),
  }, {
    ...(opts.compactBytes === undefined ? {} : { compactBytes: opts.compactBytes }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
  });
  for (const d of damage) opts.log?.(`xenstored: ${describeDamage(d)}`);
  const server = new XenstoreServer(store, journal, opts);
  try {
    await server.commit();
    server.listen(opts.socketPath, 0, true);
    server.openDomains();
  } catch (e) {
    await server.shutdown();
    throw e;
  }
  return {
    socketPath: opts.socketPath,
    domainSocketPath: (domid) => server.domainSocketPath(domid),
    introduceDomain: async (domid) => {
      server.introduce(domid);
      await server.commit();
      return server.domainSocketPath(domid);
    },
    domainShutdown: (domid) => {
      server.domainShutdown(domid);
      server.flush();
    },
    releaseDomain: async (domid) => {
      if (server.domain(domid) !== undefined) server.release(domid);
      await server.commit();
    },
    introducedDomains: () => [...server.domains.keys()],
    connect: (domid = 0) => server.connectInProcess(domid),
    attachStream: (stream, domid) => server.accept(stream, domid, domid === 0),
    close: () => server.shutdown(),
  };
}
