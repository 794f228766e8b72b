/**
 * One client connection: a byte stream (Unix socket or in-process pipe) carrying xenstore
 * frames, the domain it acts as, its transactions and watches.
 *
 * Input: each request runs when the host admits it (server.ts says when); otherwise it and every
 * later request of the connection wait, parked, until the host runs them (`runParked`).
 *
 * Output ordering and durability: every message for a connection (reply or watch event) is held
 * back while a journal frame queued before it is not yet settled, and released in order once it
 * is; so no client ever sees the effect of a change before that change is on disk. When frames
 * fail instead (`failed`), the held replies become error replies and the held watch events those
 * frames caused are dropped. An unprivileged connection stops being read while its
 * `outstanding` quota of messages or more are held or parked, or while the peer is not reading
 * (socket backpressure); a connection whose unread output passes OUTPUT_LIMIT is dropped.
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
  /** Bytes written but not yet taken by the peer. */
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
}

const OUTPUT_LIMIT = 64 * 1024 * 1024;

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
  readonly watches = new Set<Watch>();
  #nextTxId = 1;
  readonly #reader = new FrameReader();
  #held: Held[] = [];
  #parked: XsMessage[] = [];
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
    let msgs: XsMessage[];
    try {
      msgs = this.#reader.push(chunk);
    } catch (e) {
      if (e instanceof FrameTooLarge) {
        this.close();
        return;
      }
      throw e;
    }
    for (const m of msgs) {
      if (this.#closed) return;
      if (this.#parked.length === 0 && this.host.admits(m)) {
        this.host.handle(this, m);
        continue;
      }
      this.#parked.push(m);
      if (this.#parked.length === 1) this.host.park(this);
      this.#flow();
    }
  }

  /** Runs parked requests while the host admits them; true when some are still parked. */
  runParked(): boolean {
    let i = 0;
    while (i < this.#parked.length && !this.#closed && this.host.admits(this.#parked[i]!)) {
      this.host.handle(this, this.#parked[i]!);
      i++;
    }
    this.#parked = this.#closed ? [] : this.#parked.slice(i);
    this.#flow();
    return this.#parked.length > 0;
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
      this.#flow();
      return;
    }
    this.#write(buf);
  }

  /** The journal settled every frame up to `settled` on disk: releases held messages up to it. */
  released(settled: number): void {
    let i = 0;
    this.transport.cork();
    while (i < this.#held.length && this.#held[i]!.seq <= settled) {
      this.#write(this.#held[i]!.buf);
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
    this.released(settled);
    return refused;
  }

  get holding(): boolean {
    return this.#held.length > 0;
  }

  #write(buf: Buffer): void {
    if (!this.transport.write(buf)) this.#blocked = true;
    if (this.transport.pendingBytes > OUTPUT_LIMIT) {
      this.close();
      return;
    }
    this.#flow();
  }

  /** The transport can take more output. */
  drained(): void {
    this.#blocked = false;
    this.#flow();
  }

  #flow(): void {
    if (this.#closed) return;
    const limit = this.privileged ? 0 : this.host.outstandingLimit(this.domid);
    const stop = this.#blocked || (limit > 0 && this.#held.length + this.#parked.length >= limit);
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
    this.#parked = [];
    this.transport.destroy();
    this.host.closed(this);
  }
}
