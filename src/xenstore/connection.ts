/**
 * One client connection: a byte stream (Unix socket or in-process pipe) carrying xenstore
 * frames, the domain it acts as, its transactions and watches.
 *
 * Output ordering and durability: every message for a connection (reply or watch event) is held
 * back while a journal frame queued before it is not yet durable, and released in order once it
 * is; so no client ever sees the effect of a change before that change is on disk. An
 * unprivileged connection stops being read while its `outstanding` quota of messages or more
 * are held, or while the peer is not reading (socket backpressure); a connection whose unread
 * output passes OUTPUT_LIMIT is dropped.
 */
import type { Accessor } from './perms.js';
import type { Transaction } from './transaction.js';
import type { Watch, Watcher } from './watch.js';
import type { XsMessage } from './wire.js';
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
  handle(conn: Connection, msg: XsMessage): void;
  closed(conn: Connection): void;
  /** Journal sequence numbers: queued so far, and on disk. */
  readonly appendedSeq: number;
  readonly durableSeq: number;
  /** The `outstanding` quota of a domain (0 = unlimited). */
  outstandingLimit(domid: number): number;
}

const OUTPUT_LIMIT = 64 * 1024 * 1024;

let nextConnectionId = 1;

export class Connection implements Accessor, Watcher {
  readonly id = nextConnectionId++;
  /** SET_TARGET: the domain this one may act for. */
  target: number | undefined;
  readonly transactions = new Map<number, Transaction>();
  readonly watches = new Set<Watch>();
  #nextTxId = 1;
  readonly #reader = new FrameReader();
  #held: { buf: Buffer; seq: number }[] = [];
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
      this.host.handle(this, m);
    }
  }

  /** Queues a complete message for the peer, behind any not-yet-durable change. */
  send(buf: Buffer): void {
    if (this.#closed) return;
    if (this.#held.length > 0 || this.host.appendedSeq > this.host.durableSeq) {
      this.#held.push({ buf, seq: this.host.appendedSeq });
      this.#flow();
      return;
    }
    this.#write(buf);
  }

  /** Queues a WATCH_EVENT; an event too long for one message is not sent (as in C). */
  deliver(path: string, token: string): void {
    const payload = Buffer.from(`${path}\0${token}\0`, 'latin1');
    if (payload.length > PAYLOAD_MAX) return;
    this.send(encodeMessage(XsType.WATCH_EVENT, 0, 0, payload));
  }

  /** The journal reached `durable`: releases held messages up to it. */
  released(durable: number): void {
    let i = 0;
    this.transport.cork();
    while (i < this.#held.length && this.#held[i]!.seq <= durable) {
      this.#write(this.#held[i]!.buf);
      if (this.#closed) return;
      i++;
    }
    this.transport.uncork();
    if (i > 0) this.#held = this.#held.slice(i);
    this.#flow();
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
    const stop = this.#blocked || (limit > 0 && this.#held.length >= limit);
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
    this.transport.destroy();
    this.host.closed(this);
  }
}
