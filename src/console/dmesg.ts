import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../host/index.js';
import { terminalSafe } from '../common/index.js';

/** Bytes the ring keeps (Xen's console ring is 16 KiB at least; guests' debug output adds up). */
export const DMESG_RING_BYTES = 64 << 10;
/** A guest's debug line is cut here when it has no newline yet (Xen flushes a full line buffer). */
const GUEST_LINE_MAX = 256;
/** How long a change waits before the ring is written out (a kill -9 loses at most this much). */
const PERSIST_DELAY_MS = 500;

/**
 * dom0's console ring, what `xl dmesg` reads as it reads Xen's: dom0d's own lines prefixed
 * `(XEN) `, and what each guest writes to its debug port 0xe9 as lines prefixed `(dN) `. It holds
 * whole lines, the oldest dropped beyond `capacity` bytes. It lives in a file of the run directory
 * (written atomically, at most `PERSIST_DELAY_MS` after a change), so a dom0d restart keeps it
 * and a host reboot clears it, as a reboot clears Xen's.
 */
export class Dmesg {
  readonly #file: string | undefined;
  readonly #capacity: number;
  readonly #onError: (e: unknown) => void;
  /** dom0d's lines and the guests' apart, each in order, numbered across both (see `#push`). */
  readonly #host = new LineQueue();
  readonly #guests = new LineQueue();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string | undefined, capacity: number, onError: (e: unknown) => void) {
    this.#file = file;
    this.#capacity = capacity;
    this.#onError = onError;
  }

  /** The ring kept in `file` (what an earlier dom0d left there first); in memory only without one. */
  static open(file: string | undefined, options: { readonly capacity?: number; readonly onError?: (e: unknown) => void } = {}): Dmesg {
    const d = new Dmesg(file, options.capacity ?? DMESG_RING_BYTES, options.onError ?? (() => undefined));
    if (file !== undefined) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') d.#onError(e);
      }
      for (const line of text.split('\n').slice(0, -1)) d.#push(line);
    }
    return d;
  }

  /** Adds one line of dom0d's (`(XEN) ` is prefixed). */
  host(line: string): void {
    for (const l of line.split('\n')) this.#add(`(XEN) ${terminalSafe(l)}`);
  }

  /**
   * A sink for the bytes domain `domid` writes to its debug port: complete lines become `(dN) `
   * lines; control characters other than tab are dropped, as Xen drops them.
   */
  guest(domid: number): (chunk: Uint8Array) => void {
    let partial = '';
    return (chunk) => {
      for (const ch of Buffer.from(chunk).toString('latin1')) {
        if (ch === '\n' || partial.length >= GUEST_LINE_MAX) {
          this.#add(`(d${domid}) ${partial}`);
          partial = '';
          if (ch === '\n') continue;
        }
        // C1 controls (0x80-0x9f) too: a terminal takes U+009B as CSI, U+009D as OSC.
        if (ch === '\t' || (ch >= ' ' && ch < '\x7f') || ch > '\x9f') partial += ch;
      }
    };
  }

  /** The ring's text, oldest line first; `clear` empties it after reading (`xl dmesg -c`). */
  read(clear = false): string {
    const host = this.#host.lines;
    const guests = this.#guests.lines;
    const out: string[] = [];
    for (let h = 0, g = 0; h < host.length || g < guests.length;) {
      const next = g >= guests.length || (h < host.length && (host[h] as Line).seq < (guests[g] as Line).seq) ? host[h++] : guests[g++];
      out.push(`${(next as Line).text}\n`);
    }
    if (clear) {
      this.#host.clear();
      this.#guests.clear();
      this.#schedule();
    }
    return out.join('');
  }

  /** Writes out what is pending now; resolves once the file holds it. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#persist();
    }
    await this.#writing;
  }

  #add(line: string): void {
    this.#push(line);
    this.#schedule();
  }

  /**
   * Adds a line; beyond the capacity the oldest go, a guest's first while the guests' lines take
   * more than half of it: a guest writing its debug port without end (a byte costs it nothing)
   * cannot push dom0d's own lines out, as Xen's ring keeps them (its guests' debug lines are
   * dropped or rate-limited).
   */
  #push(text: string): void {
    (text.startsWith('(XEN) ') ? this.#host : this.#guests).push({ seq: this.#seq++, text, bytes: Buffer.byteLength(text) + 1 });
    while (this.#host.bytes + this.#guests.bytes > this.#capacity && this.#host.lines.length + this.#guests.lines.length > 1) {
      const fromGuests = this.#guests.bytes > this.#capacity / 2 || this.#host.lines.length === 0;
      (fromGuests ? this.#guests : this.#host).shift();
    }
  }

  #schedule(): void {
    if (this.#file === undefined || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#persist();
    }, PERSIST_DELAY_MS);
    this.#timer.unref();
  }

  #persist(): void {
    const file = this.#file;
    if (file === undefined) return;
    const text = this.read();
    this.#writing = this.#writing.then(() => writeFileAtomic(file, text)).catch((e: unknown) => this.#onError(e));
  }
}

interface Line {
  readonly seq: number;
  readonly text: string;
  readonly bytes: number;
}

/** Lines in order with their bytes counted (a line's bytes with its newline). */
class LineQueue {
  lines: Line[] = [];
  bytes = 0;

  push(line: Line): void {
    this.lines.push(line);
    this.bytes += line.bytes;
  }

  shift(): void {
    const line = this.lines.shift();
    if (line !== undefined) this.bytes -= line.bytes;
  }

  clear(): void {
    this.lines = [];
    this.bytes = 0;
  }
}
