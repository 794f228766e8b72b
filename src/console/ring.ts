/** The first allocation of a ring; it doubles as output arrives, up to the capacity. */
const INITIAL_BYTES = 4096;

/**
 * A bounded byte ring: keeps the most recent `capacity` bytes written, so a console client that
 * attaches late still sees the guest's early output (up to the bound). Memory follows use: a
 * quiet console costs a few KiB, not the capacity.
 */
export class ConsoleRing {
  readonly capacity: number;
  #buf: Buffer;
  #start = 0;
  #length = 0;
  #total = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#buf = Buffer.alloc(Math.min(capacity, INITIAL_BYTES));
  }

  /** Bytes held now (≤ capacity). */
  get length(): number {
    return this.#length;
  }

  /** Bytes ever written, including those since overwritten. */
  get totalWritten(): number {
    return this.#total;
  }

  write(chunk: Uint8Array): void {
    this.#total += chunk.length;
    let data = chunk;
    if (data.length >= this.capacity) {
      data = data.subarray(data.length - this.capacity);
      if (this.#buf.length < this.capacity) this.#buf = Buffer.alloc(this.capacity);
      this.#buf.set(data, 0);
      this.#start = 0;
      this.#length = this.capacity;
      return;
    }
    this.#grow(this.#length + data.length);
    const size = this.#buf.length;
    const end = (this.#start + this.#length) % size;
    const first = Math.min(data.length, size - end);
    this.#buf.set(data.subarray(0, first), end);
    this.#buf.set(data.subarray(first), 0);
    const overflow = this.#length + data.length - size;
    if (overflow > 0) {
      this.#start = (this.#start + overflow) % size;
      this.#length = size;
    } else {
      this.#length += data.length;
    }
  }

  /** The bytes held, oldest first (a copy). */
  contents(): Buffer {
    const head = this.#buf.subarray(this.#start, Math.min(this.#start + this.#length, this.#buf.length));
    const wrapped = this.#length - head.length;
    return Buffer.concat([head, this.#buf.subarray(0, wrapped)], this.#length);
  }

  /** Enlarges the buffer (doubling, at most to capacity) so that `need` bytes fit, keeping order. */
  #grow(need: number): void {
    if (need <= this.#buf.length || this.#buf.length >= this.capacity) return;
    let size = this.#buf.length;
    while (size < need && size < this.capacity) size *= 2;
    const next = Buffer.alloc(Math.min(size, this.capacity));
    this.contents().copy(next);
    this.#buf = next;
    this.#start = 0;
  }
}
