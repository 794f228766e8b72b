/**
 * Persistence: an append-only journal of frames plus a snapshot it compacts into.
 *
 * Files in the state directory:
 *   snapshot             "DOM0XSS1", uint32 epoch, then frames holding the whole tree
 *   journal-<epoch>.log  "DOM0XSJ1", then frames appended since that snapshot
 * A frame is `uint32 length, uint32 crc32(payload), payload` (little-endian); its payload is a
 * sequence of records (one frame per acknowledged request or committed transaction, so a
 * transaction is replayed whole or not at all):
 *   put    u8 1, u16 len + path, u8 n + n × (u8 letter, u32 domid), u32 len + value,
 *          u32 n + n × (u16 len + child name)
 *   del    u8 2, u16 len + path                  (the node and its subtree)
 *   domain u8 3, u32 domid, u8 introduced, u32 target (0xffffffff: none)
 *
 * Durability (group commit): `append` queues a frame and returns its sequence number; all frames
 * queued during one event-loop turn are written with one write + fdatasync; `durable` is the
 * highest sequence number on disk and `onDurable` runs when it advances. Callers hold replies
 * until their frame is durable. On open a torn or corrupt tail (short frame, bad length, bad
 * checksum) is cut off and everything before it is replayed.
 *
 * Compaction: when the journal outgrows `compactBytes`, the caller's dump of the live tree is
 * written to `snapshot.tmp`, synced and renamed over `snapshot` with epoch+1, and a fresh
 * journal for the new epoch replaces the old one. A crash at any point leaves either the old
 * snapshot with its journal or the new snapshot (with an empty or missing journal).
 */
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, write, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ToolstackError } from '../common/index.js';
import type { PermLetter } from './perms.js';
import type { NodeData, StoreRecord } from './store.js';

const SNAP_MAGIC = Buffer.from('DOM0XSS1', 'latin1');
const JOURNAL_MAGIC = Buffer.from('DOM0XSJ1', 'latin1');
const FRAME_HEADER = 8;
const MAX_FRAME = 256 * 1024 * 1024;
const NO_TARGET = 0xffffffff;
const LETTERS: readonly PermLetter[] = ['n', 'r', 'w', 'b'];

class Writer {
  #chunks: Buffer[] = [];
  #cur = Buffer.allocUnsafe(4096);
  #pos = 0;
  #total = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#cur.length) return;
    this.#chunks.push(this.#cur.subarray(0, this.#pos));
    this.#cur = Buffer.allocUnsafe(Math.max(4096, n));
    this.#pos = 0;
  }

  u8(v: number): void {
    this.#room(1);
    this.#cur[this.#pos++] = v;
    this.#total += 1;
  }

  u16(v: number): void {
    this.#room(2);
    this.#cur.writeUInt16LE(v, this.#pos);
    this.#pos += 2;
    this.#total += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.#cur.writeUInt32LE(v >>> 0, this.#pos);
    this.#pos += 4;
    this.#total += 4;
  }

  bytes(b: Buffer): void {
    this.#room(b.length);
    b.copy(this.#cur, this.#pos);
    this.#pos += b.length;
    this.#total += b.length;
  }

  str16(s: string): void {
    const b = Buffer.from(s, 'latin1');
    this.u16(b.length);
    this.bytes(b);
  }

  get length(): number {
    return this.#total;
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

/** Encodes records as one frame (header + payload). */
export function encodeFrame(records: readonly StoreRecord[]): Buffer {
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

/**
 * Splits `buf` (after `start`) into frames. Stops at the first incomplete or corrupt frame and
 * returns the records before it and the offset where the valid data ends.
 */
export function decodeFrames(buf: Buffer, start: number): { records: StoreRecord[]; end: number } {
  const records: StoreRecord[] = [];
  let off = start;
  while (off + FRAME_HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    if (len > MAX_FRAME || off + FRAME_HEADER + len > buf.length) break;
    const payload = buf.subarray(off + FRAME_HEADER, off + FRAME_HEADER + len);
    if (crc32(payload) !== sum) break;
    let decoded: StoreRecord[];
    try {
      decoded = decodeRecords(payload);
    } catch {
      break;
    }
    for (const r of decoded) records.push(r);
    off += FRAME_HEADER + len;
  }
  return { records, end: off };
}

export interface JournalOptions {
  /** Journal size that triggers compaction into a new snapshot (default 8 MiB). */
  readonly compactBytes?: number;
  /** Whether to fdatasync (default true; tests of logic may turn it off). */
  readonly sync?: boolean;
}

export interface Recovery {
  readonly records: StoreRecord[];
  /** Bytes of a torn or corrupt journal tail that were cut off. */
  readonly droppedBytes: number;
  /** True when neither a snapshot nor a journal existed. */
  readonly fresh: boolean;
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A running process; a zombie (exited, not yet reaped: PID 1 may take seconds) is not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readIfExists(`/proc/${pid}/stat`)?.toString() ?? '';
  return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
}

/** Claims `dir` through `xenstored.pid`; a pid file of a dead process is taken over. */
function lockDir(dir: string): string {
  const file = join(dir, 'xenstored.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readIfExists(file)?.toString().trim());
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new ToolstackError('XS_STATE', `Opening the xenstore state directory '${dir}' failed: xenstored ${pid} is using it`, {
        hint: `stop process ${pid}, or use another --state-dir`,
      });
    }
    unlinkSync(file);
  }
  throw new ToolstackError('XS_STATE', `Opening the xenstore state directory '${dir}' failed: cannot claim ${file}`);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class Journal {
  readonly #dir: string;
  readonly #compactBytes: number;
  readonly #sync: boolean;
  #epoch: number;
  #fd: number;
  #size: number;
  #queue: Buffer[] = [];
  #appended = 0;
  #durable = 0;
  #flushing = false;
  #scheduled = false;
  #closed = false;
  #dump: () => Iterable<StoreRecord>;
  #idle: (() => void)[] = [];
  onDurable: (seq: number) => void = () => {};
  onError: (e: unknown) => void = (e) => {
    throw e;
  };

  readonly #lock: string;

  private constructor(dir: string, epoch: number, fd: number, size: number, dump: () => Iterable<StoreRecord>, opts: JournalOptions, lock: string) {
    this.#lock = lock;
    this.#dir = dir;
    this.#epoch = epoch;
    this.#fd = fd;
    this.#size = size;
    this.#dump = dump;
    this.#compactBytes = opts.compactBytes ?? 8 * 1024 * 1024;
    this.#sync = opts.sync ?? true;
  }

  /**
   * Opens (creating) the state directory, recovers its records and readies the journal for
   * appends. `dump` yields the live tree when compaction needs a snapshot.
   */
  static open(dir: string, dump: () => Iterable<StoreRecord>, opts: JournalOptions = {}): { journal: Journal; recovery: Recovery } {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = lockDir(dir);
    try {
      return Journal.#recover(dir, dump, opts, lock);
    } catch (e) {
      unlinkSync(lock);
      throw e;
    }
  }

  static #recover(dir: string, dump: () => Iterable<StoreRecord>, opts: JournalOptions, lock: string): { journal: Journal; recovery: Recovery } {
    const records: StoreRecord[] = [];
    let epoch = 0;
    const snap = readIfExists(join(dir, 'snapshot'));
    if (snap !== undefined) {
      if (snap.length < 12 || !snap.subarray(0, 8).equals(SNAP_MAGIC)) throw new Error(`${join(dir, 'snapshot')}: not a dom0 xenstore snapshot`);
      epoch = snap.readUInt32LE(8);
      const { records: r, end } = decodeFrames(snap, 12);
      if (end !== snap.length) throw new Error(`${join(dir, 'snapshot')}: corrupt at byte ${end}`);
      for (const x of r) records.push(x);
    }
    const jpath = join(dir, `journal-${epoch}.log`);
    const jbuf = readIfExists(jpath);
    let droppedBytes = 0;
    let size = JOURNAL_MAGIC.length;
    const fd = openSync(jpath, jbuf === undefined ? 'w+' : 'r+', 0o600);
    if (jbuf === undefined || jbuf.length < JOURNAL_MAGIC.length || !jbuf.subarray(0, 8).equals(JOURNAL_MAGIC)) {
      droppedBytes = jbuf?.length ?? 0;
      ftruncateSync(fd, 0);
      writeSync(fd, JOURNAL_MAGIC, 0, JOURNAL_MAGIC.length, 0);
      fsyncSync(fd);
      syncDir(dir);
    } else {
      const { records: r, end } = decodeFrames(jbuf, JOURNAL_MAGIC.length);
      for (const x of r) records.push(x);
      if (end < jbuf.length) {
        droppedBytes = jbuf.length - end;
        ftruncateSync(fd, end);
        fsyncSync(fd);
      }
      size = end;
    }
    for (const name of readdirSync(dir)) {
      if (/^journal-\d+\.log$/.test(name) && name !== `journal-${epoch}.log`) unlinkSync(join(dir, name));
    }
    const journal = new Journal(dir, epoch, fd, size, dump, opts, lock);
    return { journal, recovery: { records, droppedBytes, fresh: snap === undefined && jbuf === undefined } };
  }

  /** Highest sequence number queued. */
  get appended(): number {
    return this.#appended;
  }

  /** Highest sequence number on disk. */
  get durable(): number {
    return this.#durable;
  }

  /** Queues one frame; returns its sequence number. */
  append(records: readonly StoreRecord[]): number {
    if (this.#closed) throw new Error('xenstore journal is closed');
    this.#queue.push(encodeFrame(records));
    this.#appended++;
    this.#schedule();
    return this.#appended;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#flushing) return;
    if (this.#size >= this.#compactBytes) {
      this.#compact();
      return;
    }
    if (this.#queue.length === 0) {
      this.#settle();
      return;
    }
    const data = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue = [];
    const seq = this.#appended;
    this.#flushing = true;
    const pos = this.#size;
    this.#size += data.length;
    const done = (err: unknown): void => {
      this.#flushing = false;
      if (err) {
        this.onError(err);
        return;
      }
      this.#advance(seq);
      this.#flush();
    };
    write(this.#fd, data, 0, data.length, pos, (err) => {
      if (err) done(err);
      else if (this.#sync) fdatasync(this.#fd, done);
      else done(null);
    });
  }

  #advance(seq: number): void {
    if (seq <= this.#durable) return;
    this.#durable = seq;
    this.onDurable(seq);
  }

  #settle(): void {
    if (this.#queue.length === 0 && !this.#flushing) {
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }

  /** Writes a snapshot of the live tree (which includes every queued frame) and starts a new epoch. */
  #compact(): void {
    const seq = this.#appended;
    this.#queue = [];
    const epoch = this.#epoch + 1;
    try {
      const head = Buffer.allocUnsafe(12);
      SNAP_MAGIC.copy(head, 0);
      head.writeUInt32LE(epoch, 8);
      const frames: Buffer[] = [head];
      let batch: StoreRecord[] = [];
      for (const r of this.#dump()) {
        batch.push(r);
        if (batch.length >= 1024) {
          frames.push(encodeFrame(batch));
          batch = [];
        }
      }
      if (batch.length > 0) frames.push(encodeFrame(batch));
      const tmp = join(this.#dir, 'snapshot.tmp');
      const fd = openSync(tmp, 'w', 0o600);
      try {
        for (const f of frames) writeSync(fd, f);
        if (this.#sync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const jpath = join(this.#dir, `journal-${epoch}.log`);
      const jfd = openSync(jpath, 'w+', 0o600);
      writeSync(jfd, JOURNAL_MAGIC);
      if (this.#sync) fsyncSync(jfd);
      renameSync(tmp, join(this.#dir, 'snapshot'));
      if (this.#sync) syncDir(this.#dir);
      closeSync(this.#fd);
      unlinkSync(join(this.#dir, `journal-${this.#epoch}.log`));
      this.#fd = jfd;
      this.#epoch = epoch;
      this.#size = JOURNAL_MAGIC.length;
    } catch (e) {
      this.onError(e);
      return;
    }
    this.#advance(seq);
    this.#flush();
  }

  /** Resolves once everything queued is durable. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && !this.#flushing && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    closeSync(this.#fd);
    unlinkSync(this.#lock);
  }
}
