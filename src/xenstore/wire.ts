/**
 * The xenstore wire protocol (`xs_wire.h`): a 16-byte header of four uint32 in host byte order
 * (little-endian on every host dom0 runs on) — `type, req_id, tx_id, len` — then `len` payload
 * bytes, at most 4096 in either direction. Replies echo the request's type, req_id and tx_id; an
 * error reply has type ERROR and carries an errno name plus NUL. Watch events (type WATCH_EVENT,
 * req_id = tx_id = 0) may arrive at any time between replies.
 *
 * Strings on the wire are byte strings; they are decoded as latin1 so every byte round-trips.
 */

/** Message types; the enum order of `xs_wire.h` is the wire value. 20 (RESTRICT) is gone. */
export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
} as const;
export type XsType = (typeof XsType)[keyof typeof XsType];

export const HEADER_SIZE = 16;
export const PAYLOAD_MAX = 4096;
/** `DOMID_SELF`: IS_DOMAIN_INTRODUCED answers T for it. */
export const DOMID_SELF = 0x7ff0;
/** `DOMID_FIRST_RESERVED`: domids from here on name no domain. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** `XENSTORE_REL_PATH_MAX`: the longest special (`@`) watch path. */
export const REL_PATH_MAX = 2048;

/** Error names in `xsd_errors[]` order. Append only. */
export const XS_ERRNOS = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY',
  'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;
export type XsErrno = (typeof XS_ERRNOS)[number];

/** A request failed with an errno the server sends back as an ERROR reply. */
export class XsFault extends Error {
  override readonly name: string = 'XsFault';
  constructor(readonly errno: XsErrno) {
    super(errno);
  }
}

export function isXsErrno(s: string): s is XsErrno {
  return (XS_ERRNOS as readonly string[]).includes(s);
}

export interface XsMessage {
  readonly type: number;
  readonly reqId: number;
  readonly txId: number;
  readonly payload: Buffer;
}

export function encodeMessage(type: number, reqId: number, txId: number, payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  buf.writeUInt32LE(type, 0);
  buf.writeUInt32LE(reqId >>> 0, 4);
  buf.writeUInt32LE(txId >>> 0, 8);
  buf.writeUInt32LE(payload.length, 12);
  payload.copy(buf, HEADER_SIZE);
  return buf;
}

/** Payload of NUL-terminated strings: `a\0b\0`. */
export function encodeStrings(strings: readonly string[]): Buffer {
  return Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
}

export const OK_PAYLOAD: Buffer = encodeStrings(['OK']);

/**
 * The NUL-terminated strings of a payload (C `get_strings`): bytes after the last NUL are not a
 * string, so the count is the number of NULs.
 */
export function splitStrings(payload: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  for (;;) {
    const nul = payload.indexOf(0, off);
    if (nul < 0) break;
    out.push(payload.toString('latin1', off, nul));
    off = nul + 1;
  }
  return out;
}

/** The single argument of a one-argument request: exactly one NUL, at the end; else EINVAL. */
export function oneArg(payload: Buffer): string {
  if (payload.length === 0 || payload.indexOf(0) !== payload.length - 1) throw new XsFault('EINVAL');
  return payload.toString('latin1', 0, payload.length - 1);
}

/** A header announced a payload over PAYLOAD_MAX: the connection must be dropped. */
export class FrameTooLarge extends Error {
  override readonly name: string = 'FrameTooLarge';
}

/**
 * Incremental frame parser for a byte stream. `append` keeps bytes; `next` takes the next complete
 * message (undefined until one is complete) and throws FrameTooLarge on an oversized length
 * field; `push` is both, for a reader that takes every message at once. Payloads are views of
 * the appended chunks (a stream never reuses a chunk; WRITE copies its value).
 */
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** Chunks not yet taken, the first from `#off` on (`#chunks[#head..]`). */
  #chunks: Buffer[] = [];
  #head = 0;
  #off = 0;
  #buffered = 0;

  /** Bytes appended and not yet taken as messages. */
  get buffered(): number {
    return this.#buffered;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  next(): XsMessage | undefined {
    if (this.#buffered < HEADER_SIZE) return undefined;
    const len = this.#contiguous(HEADER_SIZE).readUInt32LE(this.#off + 12);
    if (len > PAYLOAD_MAX) throw new FrameTooLarge(`payload length ${len} exceeds ${PAYLOAD_MAX}`);
    const size = HEADER_SIZE + len;
    if (this.#buffered < size) return undefined;
    const buf = this.#contiguous(size);
    const off = this.#off;
    this.#off += size;
    this.#buffered -= size;
    if (this.#off === buf.length) this.#dropHead();
    return {
      type: buf.readUInt32LE(off),
      reqId: buf.readUInt32LE(off + 4),
      txId: buf.readUInt32LE(off + 8),
      payload: buf.subarray(off + HEADER_SIZE, off + size),
    };
  }

  /** The first chunk, joined with those after it until `bytes` from `#off` are in it (all buffered). */
  #contiguous(bytes: number): Buffer {
    let first = this.#chunks[this.#head] as Buffer;
    if (first.length - this.#off >= bytes) return first;
    const parts = [first.subarray(this.#off)];
    let have = parts[0]!.length;
    let i = this.#head + 1;
    for (; have < bytes; i++) {
      parts.push(this.#chunks[i] as Buffer);
      have += (this.#chunks[i] as Buffer).length;
    }
    first = Buffer.concat(parts, have);
    this.#chunks.splice(this.#head, i - this.#head, first);
    this.#off = 0;
    return first;
  }

  #dropHead(): void {
    this.#chunks[this.#head++] = EMPTY;
    this.#off = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  push(chunk: Buffer): XsMessage[] {
    this.append(chunk);
    const out: XsMessage[] = [];
    for (let m = this.next(); m !== undefined; m = this.next()) out.push(m);
    return out;
  }
}
