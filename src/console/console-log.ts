import { appendFile, open, rename, stat } from 'node:fs/promises';
import { isErrno } from '../common/index.js';
import { writeFileAtomic } from '../domain/index.js';
import { ConsoleRing } from './ring.js';

/** Default bound of a domain's console ring (and of what a dom0d restart replays). */
export const CONSOLE_RING_BYTES = 1 << 20;

export type ConsoleListener = (chunk: Buffer) => void;

/**
 * One domain's console output: a ring in memory, live listeners, and a log file
 * (`LOG_DIR/console-<name>.log`) so the ring survives a dom0d restart. Writes reach the ring and
 * listeners synchronously and the file shortly after, in order; the file is compacted back to
 * the ring's contents whenever it grows past twice the ring's capacity, so it stays bounded.
 */
export class ConsoleLog {
  readonly #ring: ConsoleRing;
  readonly #listeners = new Set<ConsoleListener>();
  #path: string;
  #fileBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushing: Promise<void> | null = null;
  readonly #onError: (e: unknown) => void;

  private constructor(path: string, ring: ConsoleRing, fileBytes: number, onError: (e: unknown) => void) {
    this.#path = path;
    this.#ring = ring;
    this.#fileBytes = fileBytes;
    this.#onError = onError;
  }

  /**
   * Opens the log at `path`, loading its last `capacity` bytes into the ring. A failed file write
   * goes to `onError`; the output stays in the ring.
   */
  static async open(
    path: string,
    options: { readonly capacity?: number; readonly onError?: (e: unknown) => void } = {},
  ): Promise<ConsoleLog> {
    const capacity = options.capacity ?? CONSOLE_RING_BYTES;
    const ring = new ConsoleRing(capacity);
    let size = 0;
    try {
      size = (await stat(path)).size;
      const fh = await open(path, 'r');
      try {
        const n = Math.min(size, capacity);
        const buf = Buffer.alloc(n);
        await fh.read(buf, 0, n, size - n);
        ring.write(buf);
      } finally {
        await fh.close();
      }
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    return new ConsoleLog(path, ring, size, options.onError ?? (() => undefined));
  }

  get path(): string {
    return this.#path;
  }

  /** Appends guest output. */
  write(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk);
    this.#ring.write(buf);
    for (const l of this.#listeners) l(buf);
    this.#pending.push(buf);
    this.#pendingBytes += buf.length;
    this.#flushing ??= this.#flush();
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

  /** Moves the log file (the domain was renamed). */
  async rename(path: string): Promise<void> {
    await this.flushed();
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
        const data = Buffer.concat(this.#pending);
        this.#pending = [];
        await appendFile(this.#path, data, { mode: 0o600 });
        this.#pendingBytes -= data.length;
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
      this.#pendingBytes = 0;
      this.#onError(e);
    } finally {
      this.#flushing = null;
    }
  }
}
