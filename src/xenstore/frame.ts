/**
 * The frame codec of the state files (journal and snapshot). A frame is
 * `uint32 length, uint32 crc32(payload), payload` (little-endian); its payload is a non-empty
 * sequence of records:
 *   put    u8 1, u16 len + path, u8 n + n × (u8 letter, u32 domid), u32 len + value,
 *          u32 n + n × (u16 len + child name)
 *   del    u8 2, u16 len + path                  (the node and its subtree)
 *   domain u8 3, u32 domid, u8 introduced, u32 target (0xffffffff: none)
 * A frame is good when it is complete, its checksum holds and its records decode.
 */
import { crc32 } from 'node:zlib';
import { BugError } from '../common/index.js';
import type { PermLetter } from './perms.js';
import type { NodeData, StoreRecord } from './store.js';

export const FRAME_HEADER = 8;
/** The largest frame recovery reads: a writer never writes a larger one. */
export const MAX_FRAME = 256 * 1024 * 1024;
/** Permission entries a node's record holds (its count is one byte). */
export const MAX_NODE_PERMS = 255;
const NO_TARGET = 0xffffffff;
const LETTERS: readonly PermLetter[] = ['n', 'r', 'w', 'b'];

class Writer {
  #chunks: Buffer[] = [];
  #cur = Buffer.allocUnsafe(4096);
  #pos = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#cur.length) return;
    this.#chunks.push(this.#cur.subarray(0, this.#pos));
    this.#cur = Buffer.allocUnsafe(Math.max(4096, n));
    this.#pos = 0;
  }

  u8(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new Error(`a state record's byte field cannot hold ${v}`);
    this.#room(1);
    this.#cur[this.#pos++] = v;
  }

  u16(v: number): void {
    this.#room(2);
    this.#cur.writeUInt16LE(v, this.#pos);
    this.#pos += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.#cur.writeUInt32LE(v >>> 0, this.#pos);
    this.#pos += 4;
  }

  bytes(b: Buffer): void {
    this.#room(b.length);
    b.copy(this.#cur, this.#pos);
    this.#pos += b.length;
  }

  str16(s: string): void {
    const b = Buffer.from(s, 'latin1');
    this.u16(b.length);
    this.bytes(b);
  }

  finish(): Buffer {
    return Buffer.concat([...this.#chunks, this.#cur.subarray(0, this.#pos)]);
  }
}

function encodeRecord(w: Writer, r: StoreRecord): void {
  if (r.op === 'put') {
    w.u8(1);
    w.str16(r.path);
    w.u8(r.node.perms.length);
    for (const p of r.node.perms) {
      w.u8(LETTERS.indexOf(p.perm));
      w.u32(p.id);
    }
    w.u32(r.node.value.length);
    w.bytes(r.node.value);
    w.u32(r.node.children.length);
    for (const c of r.node.children) w.str16(c);
  } else if (r.op === 'del') {
    w.u8(2);
    w.str16(r.path);
  } else {
    w.u8(3);
    w.u32(r.domid);
    w.u8(r.introduced ? 1 : 0);
    w.u32(r.target ?? NO_TARGET);
  }
}

/** Encodes records (at least one) as one frame, header included. */
export function encodeFrame(records: readonly StoreRecord[]): Buffer {
  if (records.length === 0) throw new BugError('a journal frame needs at least one record');
  const w = new Writer();
  for (const r of records) encodeRecord(w, r);
  const payload = w.finish();
  const head = Buffer.allocUnsafe(FRAME_HEADER);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  #need(n: number): void {
    if (this.pos + n > this.b.length) throw new RangeError('record overruns its frame');
  }
  u8(): number {
    this.#need(1);
    return this.b[this.pos++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const v = Buffer.from(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }
  str16(): string {
    return this.bytes(this.u16()).toString('latin1');
  }
  get done(): boolean {
    return this.pos >= this.b.length;
  }
}

/** The records of a payload whose checksum held; RangeError if they do not decode. */
function decodeRecords(payload: Buffer): StoreRecord[] {
  const r = new Reader(payload);
  const out: StoreRecord[] = [];
  while (!r.done) {
    const op = r.u8();
    if (op === 1) {
      const path = r.str16();
      const nperms = r.u8();
      const perms = [];
      for (let i = 0; i < nperms; i++) {
        const perm = LETTERS[r.u8()];
        if (perm === undefined) throw new RangeError('bad permission letter');
        perms.push({ perm, id: r.u32() });
      }
      const value = r.bytes(r.u32());
      const n = r.u32();
      const children: string[] = [];
      for (let i = 0; i < n; i++) children.push(r.str16());
      const node: NodeData = { value, perms, children };
      out.push({ op: 'put', path, node });
    } else if (op === 2) {
      out.push({ op: 'del', path: r.str16() });
    } else if (op === 3) {
      const domid = r.u32();
      const introduced = r.u8() === 1;
      const target = r.u32();
      out.push(target === NO_TARGET ? { op: 'domain', domid, introduced } : { op: 'domain', domid, introduced, target });
    } else {
      throw new RangeError(`unknown record type ${op}`);
    }
  }
  return out;
}

/** A good frame of a state file. */
export interface ScannedFrame {
  readonly offset: number;
  /** Header included. */
  readonly size: number;
  readonly records: readonly StoreRecord[];
}

/** Bytes of a state file that are not good frames. */
export interface Gap {
  readonly offset: number;
  readonly size: number;
}

/** The good frame starting at `off`, if there is one. */
function frameAt(buf: Buffer, off: number): ScannedFrame | undefined {
  if (off + FRAME_HEADER > buf.length) return undefined;
  const len = buf.readUInt32LE(off);
  if (len === 0 || len > MAX_FRAME || off + FRAME_HEADER + len > buf.length) return undefined;
  const payload = buf.subarray(off + FRAME_HEADER, off + FRAME_HEADER + len);
  if (crc32(payload) !== buf.readUInt32LE(off + 4)) return undefined;
  try {
    return { offset: off, size: FRAME_HEADER + len, records: decodeRecords(payload) };
  } catch {
    return undefined;
  }
}

/**
 * Every good frame of `buf` from `start` on, in file order, and the gaps between them: past a
 * bad frame the scan resumes at the next offset where a good frame starts (so a gap that runs
 * to the end of the file is a torn or garbled tail, one followed by good frames is damage).
 */
export function scanFrames(buf: Buffer, start: number): { frames: ScannedFrame[]; gaps: Gap[] } {
  const frames: ScannedFrame[] = [];
  const gaps: Gap[] = [];
  let off = start;
  while (off < buf.length) {
    const f = frameAt(buf, off);
    if (f !== undefined) {
      frames.push(f);
      off += f.size;
      continue;
    }
    let next = off + 1;
    while (next < buf.length && frameAt(buf, next) === undefined) next++;
    gaps.push({ offset: off, size: next - off });
    off = next;
  }
  return { frames, gaps };
}
