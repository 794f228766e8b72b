/**
 * One client connection: a byte stream (Unix socket or in-process pipe) carrying xenstore
 * frames, the domain it acts as, its transactions and watches.
 *
 * Input: a request runs when the host admits it (server.ts says when), the connection's output is
 * not backed up (socket backpressure) and fewer than its flow limit of messages are held (an
 * unprivileged one's `outstanding` quota, PRIVILEGED_FLOW for dom0's); otherwise it and every
 * later request wait, unparsed, until they may run (`runParked`: the host calls it when the
 * journal settles, the connection when its peer reads again). The connection stops being read
 * while so stopped, or once INPUT_LIMIT bytes wait. So a peer that sends requests without
 * reading replies gets no more replies queued than its socket takes, and no more input kept than
 * INPUT_LIMIT.
 *
 * Output ordering and durability: every message for a connection (reply or watch event) is held
 * back while a journal frame queued before it is not yet settled, and released in order once it
 * is; so no client ever sees the effect of a change before that change is on disk. When frames
 * fail instead (`failed`), the held replies become error replies and the held watch events those
 * frames caused are dropped.
 *
 * Backlog: what a connection has queued and the peer has not taken (held messages, and output the
 * transport buffers), each message counted with what holding it costs besides its bytes
 * (MESSAGE_OVERHEAD: a watch event of 21 bytes took ~250 in memory, and 8 MiB counted were ~100 MB). Replies are bounded by the flow above; watch events are not (any change may
 * fire them), so a connection whose backlog passes OUTPUT_LIMIT is dropped (its watches and
 * transactions go with it), and the host drops the largest backlogs over BACKLOG_SHARED while
 * together they pass its budget: a peer that stops reading cannot hold the daemon's memory.
 */
import type { Accessor } from './perms.js';
import type { Transaction } from './transaction.js';
import type { Watch, Watcher } from './watch.js';
import type { XsErrno, XsMessage } from './wire.js';
import { encodeMessage, FrameReader, FrameTooLarge, PAYLOAD_MAX, XsType } from './wire.js';

/** The stream under a connection. */
export interface Transport {
  /** Returns false when the peer is not keeping up (call `drained` later). */
  write(buf: Buffer): boolean;
  /** Bytes written but not yet taken by the peer, each write counted with MESSAGE_OVERHEAD. */
  readonly pendingBytes: number;
  pause(): void;
  resume(): void;
  /** Batches the writes between `cork` and `uncork` into as few as possible. */
  cork(): void;
  uncork(): void;
  /** Closes the stream at once (no further `receive`). */
  destroy(): void;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** Whether `msg` may run now; if not, the connection parks it and calls `park`. */
  admits(msg: XsMessage): boolean;
  handle(conn: Connection, msg: XsMessage): void;
  /** The connection has parked requests: call its `runParked` once they may run. */
  park(conn: Connection): void;
  closed(conn: Connection): void;
  /** Journal sequence numbers: queued so far, and settled (on disk or discarded). */
  readonly appendedSeq: number;
  readonly settledSeq: number;
  /** The `outstanding` quota of a domain (0 = unlimited). */
  outstandingLimit(domid: number): number;
  /**
   * `conn`'s backlog is `bytes`, past BACKLOG_SHARED (or 0: back under it). The host drops the
   * largest such backlogs while together they pass its budget; false if `conn` was dropped.
   * `closed` forgets the connection's.
   */
  backlogFits(conn: Connection, bytes: number): boolean;
  /** `conn` is being dropped for a bound (logged, not too often). */
  dropping(conn: Connection, why: string): void;
}

/** What a message held or queued for a peer costs besides its bytes (its Buffer, its queue entry). */
export const MESSAGE_OVERHEAD = 256;
/** Unread output after which a connection is dropped. */
const OUTPUT_LIMIT = 8 * 1024 * 1024;
/** Backlog a connection may have without counting against the host's budget. */
const BACKLOG_SHARED = 64 * 1024;
/** Bytes received and not yet run after which a connection stops being read. */
const INPUT_LIMIT = 64 * 1024;
/** The flow limit of a privileged connection (it has no `outstanding` quota). */
const PRIVILEGED_FLOW = 256;

/** A message held for a frame: what becomes of it if that frame fails. */
interface Held {
  buf: Buffer;
  readonly seq: number;
  /** `error`: a reply, sent as an error reply; `drop`: an event the frame caused; `keep`: sent as it is. */
  readonly onFailure: 'error' | 'drop' | 'keep';
}

let nextConnectionId = 1;

export class Connection implements Accessor, Watcher {
  readonly id = nextConnectionId++;
  /** SET_TARGET: the domain this one may act for. */
  target: number | undefined;
  readonly transactions = new Map<number, Transaction>();
  /** By `path \0 token`. */
  readonly watches = new Map<string, Watch>();
  #nextTxId = 1;
  readonly #reader = new FrameReader();
  #held: Held[] = [];
  #heldBytes = 0;
  /** The first request received that may not run yet (the rest wait in `#reader`). */
  #next: XsMessage | undefined;
  #waiting = false;
  #shared = false;
  #blocked = false;
  #paused = false;
  #closed = false;

  constructor(
    private readonly host: ConnectionHost,
    private readonly transport: Transport,
    readonly domid: number,
    readonly privileged: boolean,
  ) {}

  get accessor(): Accessor {
    return this;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A fresh transaction id: never 0, never one in use. */
  allocTxId(): number {
    for (;;) {
      const id = this.#nextTxId;
      this.#nextTxId = (this.#nextTxId + 1) >>> 0 || 1;
      if (!this.transactions.has(id)) return id;
    }
  }

  /** Bytes from the peer. Malformed framing (oversized length) closes this connection only. */
  receive(chunk: Buffer): void {
    if (this.#closed) return;
    this.#reader.append(chunk);
    if (this.#waiting) this.#flow();
    else this.runParked();
  }

  /** Runs the requests received while they may run (see the module comment); true when some still wait. */
  runParked(): boolean {
    while (!this.#closed) {
      let m = this.#next;
      if (m === undefined) {
        try {
          m = this.#reader.next();
        } catch (e) {
          if (!(e instanceof FrameTooLarge)) throw e;
          this.close();
          break;
        }
        if (m === undefined) break;
      }
      if (!this.#ready() || !this.host.admits(m)) {
        this.#next = m;
        if (!this.#waiting) {
          this.#waiting = true;
          this.host.park(this);
        }
        this.#flow();
        return true;
      }
      this.#next = undefined;
      this.host.handle(this, m);
    }
    this.#waiting = false;
    this.#flow();
    return false;
  }

  /** Messages held before this connection stops: its `outstanding` quota (0 = none) or PRIVILEGED_FLOW. */
  #flowLimit(): number {
    return this.privileged ? PRIVILEGED_FLOW : this.host.outstandingLimit(this.domid);
  }

  /** Whether a request may run as far as this connection is concerned (its output is not backed up). */
  #ready(): boolean {
    const limit = this.#flowLimit();
    return !this.#blocked && (limit === 0 || this.#held.length < limit);
  }

  /** Queues a reply for the peer, behind any change not yet settled. */
  send(buf: Buffer): void {
    this.#queue(buf, 'error');
  }

  /**
   * Queues a WATCH_EVENT, `ofFrame` when the change it reports is in the journal frame last
   * appended; an event too long for one message is not sent (as in C).
   */
  deliver(path: string, token: string, ofFrame = false): void {
    const payload = Buffer.from(`${path}\0${token}\0`, 'latin1');
    if (payload.length > PAYLOAD_MAX) return;
    this.#queue(encodeMessage(XsType.WATCH_EVENT, 0, 0, payload), ofFrame ? 'drop' : 'keep');
  }

  #queue(buf: Buffer, onFailure: Held['onFailure']): void {
    if (this.#closed) return;
    if (this.#held.length > 0 || this.host.appendedSeq > this.host.settledSeq) {
      this.#held.push({ buf, seq: this.host.appendedSeq, onFailure });
      this.#heldBytes += buf.length + MESSAGE_OVERHEAD;
      if (this.#checkBacklog()) this.#flow();
      return;
    }
    this.#write(buf);
  }

  /** The journal settled every frame up to `settled` on disk: releases held messages up to it. */
  released(settled: number): void {
    let i = 0;
    this.transport.cork();
    while (i < this.#held.length && this.#held[i]!.seq <= settled) {
      const { buf } = this.#held[i]!;
      this.#heldBytes -= buf.length + MESSAGE_OVERHEAD;
      this.#write(buf);
      if (this.#closed) return;
      i++;
    }
    this.transport.uncork();
    if (i > 0) this.#held = this.#held.slice(i);
    this.#flow();
  }

  /**
   * The frames up to `settled` failed: held replies up to there become `errno` error replies,
   * the held events those frames caused are dropped, and all go out as `released`. Returns the
   * number of replies turned into errors.
   */
  failed(settled: number, errno: XsErrno): number {
    let refused = 0;
    const held: Held[] = [];
    for (const h of this.#held) {
      if (h.seq > settled || h.onFailure === 'keep') {
        held.push(h);
      } else if (h.onFailure === 'error') {
        h.buf = encodeMessage(XsType.ERROR, h.buf.readUInt32LE(4), h.buf.readUInt32LE(8), Buffer.from(`${errno}\0`, 'latin1'));
        held.push(h);
        refused++;
      }
    }
    this.#held = held;
    this.#heldBytes = held.reduce((n, h) => n + h.buf.length + MESSAGE_OVERHEAD, 0);
    this.released(settled);
    return refused;
  }

  get holding(): boolean {
    return this.#held.length > 0;
  }

  #write(buf: Buffer): void {
    if (!this.transport.write(buf)) this.#blocked = true;
    if (this.#checkBacklog()) this.#flow();
  }

  /** Bytes queued for the peer and not yet taken (see the module comment). */
  get backlog(): number {
    return this.transport.pendingBytes + this.#heldBytes;
  }

  /** Drops the connection if its backlog is too large (see the module comment); false if dropped. */
  #checkBacklog(): boolean {
    const backlog = this.backlog;
    const shared = backlog > BACKLOG_SHARED;
    let fits = true;
    if (shared || this.#shared) {
      this.#shared = shared;
      fits = this.host.backlogFits(this, shared ? backlog : 0);
    }
    if (fits && backlog <= OUTPUT_LIMIT) return true;
    if (fits) this.host.dropping(this, `its unread output passed ${OUTPUT_LIMIT >> 20} MiB`);
    this.close();
    return false;
  }

  /** The transport can take more output. */
  drained(): void {
    this.#blocked = false;
    if (this.#shared) this.#checkBacklog();
    if (this.#waiting) this.runParked();
    else this.#flow();
  }

  #flow(): void {
    if (this.#closed) return;
    const limit = this.#flowLimit();
    const stop = this.#blocked || this.#reader.buffered > INPUT_LIMIT || (limit > 0 && this.#held.length >= limit);
    if (stop && !this.#paused) {
      this.#paused = true;
      this.transport.pause();
    } else if (!stop && this.#paused) {
      this.#paused = false;
      this.transport.resume();
    }
  }

  /** Drops the connection: its watches and transactions go with it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.#heldBytes = 0;
    this.#next = undefined;
    this.#waiting = false;
    this.transport.destroy();
    this.host.closed(this);
  }
}
