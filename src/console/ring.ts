/**
 * A bounded byte ring: keeps the most recent `capacity` bytes written, so a console client that
 * attaches late still sees the guest's early output (up to the bound).
 */
export class ConsoleRing {
  readonly capacity: number;
  readonly #buf: Buffer;
  #start = 0;
  #length = 0;
  #total = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#buf = Buffer.alloc(capacity);
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
      this.#buf.set(data, 0);
      this.#start = 0;
      this.#length = this.capacity;
      return;
    }
    const end = (this.#start + this.#length) % this.capacity;
    const first = Math.min(data.length, this.capacity - end);
    this.#buf.set(data.subarray(0, first), end);
    this.#buf.set(data.subarray(first), 0);
    const overflow = this.#length + data.length - this.capacity;
    if (overflow > 0) {
      this.#start = (this.#start + overflow) % this.capacity;
      this.#length = this.capacity;
    } else {
      this.#length += data.length;
    }
  }

  /** The bytes held, oldest first (a copy). */
  contents(): Buffer {
    const head = this.#buf.subarray(this.#start, Math.min(this.#start + this.#length, this.capacity));
    const wrapped = this.#length - head.length;
    return Buffer.concat([head, this.#buf.subarray(0, wrapped)], this.#length);
  }
}
