import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isErrno } from '../common/index.js';
import { rotateLog, writeFileAtomic } from '../host/index.js';
import { ConsoleRing } from './ring.js';

/** Default bound of a domain's console ring (and of what a dom0d restart replays). */
export const CONSOLE_RING_BYTES = 1 << 20;

export type ConsoleListener = (chunk: Buffer) => void;

/**
 * One console's output: a ring in memory holding this domain's output only (what a client that
 * attaches is replayed first), live listeners, and a log file (`LOG_DIR/console/<name>/<id>.log`)
 * that successive domains of one name append to, as Xen's guest console logs. Writes reach the
 * ring and listeners synchronously and the file shortly after, in order; the file is compacted
 * to the ring's contents whenever it grows past twice the ring's capacity, so it stays bounded.
 */
export class ConsoleLog {
  readonly #ring: ConsoleRing;
  readonly #listeners = new Set<ConsoleListener>();
  #path: string;
  #fileBytes: number;
  /** Output not yet taken by a file write, at most the ring's capacity (see `write`). */
  #pending: Buffer[] = [];
  #queuedBytes = 0;
  /** Output dropped from `#pending` since the file last took some (said in the file then). */
  #lostBytes = 0;
  /** Output in the ring not yet in the file (nor to be: dropped): `#pending`'s, the dropped, the write under way's. */
  #pendingBytes = 0;
  readonly #append: (path: string, data: Buffer) => Promise<void>;
  #flushing: Promise<void> | null = null;
  readonly #onError: (e: unknown) => void;

  private constructor(path: string, ring: ConsoleRing, fileBytes: number, onError: (e: unknown) => void, append: (path: string, data: Buffer) => Promise<void>) {
    this.#path = path;
    this.#ring = ring;
    this.#fileBytes = fileBytes;
    this.#onError = onError;
    this.#append = append;
  }

  /**
   * Opens the log at `path` (creating its directory) with an empty ring. A failed file write
   * goes to `onError`; the output stays in the ring. `append` writes to the file (appendFile,
   * mode 0600).
   */
  static async open(
    path: string,
    options: { readonly capacity?: number; readonly onError?: (e: unknown) => void; readonly append?: (path: string, data: Buffer) => Promise<void> } = {},
  ): Promise<ConsoleLog> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let size = 0;
    try {
      size = (await stat(path)).size;
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    return new ConsoleLog(path, new ConsoleRing(options.capacity ?? CONSOLE_RING_BYTES), size, options.onError ?? (() => undefined),
      options.append ?? ((p, data) => appendFile(p, data, { mode: 0o600 })));
  }

  /** The most output the ring holds. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * Appends guest output. A log file that takes it more slowly than the guest writes (a disk that
   * stalls, a hung mount) keeps at most the ring's capacity waiting in memory: older output waiting
   * is dropped (the ring and live listeners have it), and the file says how much when it next
   * takes some.
   */
  write(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk);
    this.#ring.write(buf);
    for (const l of this.#listeners) l(buf);
    this.#pending.push(buf);
    this.#queuedBytes += buf.length;
    this.#pendingBytes += buf.length;
    while (this.#queuedBytes > this.#ring.capacity && this.#pending.length > 1) {
      const dropped = this.#pending.shift() as Buffer;
      this.#queuedBytes -= dropped.length;
      this.#lostBytes += dropped.length;
    }
    this.#flushing ??= this.#flush();
  }

  /**
   * Output this domain wrote before the log was opened (a re-adopted domain's, read back from
   * QEMU's feed): into the ring only, the file already has it.
   */
  preload(chunk: Uint8Array): void {
    this.#ring.write(chunk);
  }

  /** The retained output, oldest first: what a newly attached client is shown first. */
  replay(): Buffer {
    return this.#ring.contents();
  }

  /** Streams output written from now on; returns the unsubscribe function. */
  subscribe(listener: ConsoleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Moves the log file (the domain was renamed); a log already at `path`, a gone domain's of that
   * name, is kept as `path.1` (as a QEMU log at a start), not replaced.
   */
  async rename(path: string): Promise<void> {
    await this.flushed();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    if (path !== this.#path) rotateLog(path);
    try {
      await rename(this.#path, path);
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    this.#path = path;
  }

  /** Resolves once everything written so far is in the file. */
  async flushed(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  /** Flushes and drops the listeners. */
  async close(): Promise<void> {
    this.#listeners.clear();
    await this.flushed();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const taken = Buffer.concat(this.#pending);
        const lostBytes = this.#lostBytes;
        const lost = lostBytes === 0 ? '' : `\r\n[dom0: ${lostBytes} bytes of console output not logged here: the log file took them too slowly]\r\n`;
        const data = lost === '' ? taken : Buffer.concat([Buffer.from(lost), taken]);
        this.#pending = [];
        this.#queuedBytes = 0;
        this.#lostBytes = 0;
        await this.#append(this.#path, data);
        this.#pendingBytes -= lostBytes + taken.length;
        this.#fileBytes += data.length;
        if (this.#fileBytes > 2 * this.#ring.capacity) {
          // The ring's tail holds bytes not yet appended; the file gets everything before them.
          const all = this.#ring.contents();
          const kept = all.subarray(0, Math.max(0, all.length - this.#pendingBytes));
          await writeFileAtomic(this.#path, kept);
          this.#fileBytes = kept.length;
        }
      }
    } catch (e: unknown) {
      this.#pending = [];
      this.#queuedBytes = 0;
      this.#lostBytes = 0;
      this.#pendingBytes = 0;
      this.#onError(e);
    } finally {
      this.#flushing = null;
    }
  }
}
