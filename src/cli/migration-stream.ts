/**
 * xl's migration channel (xl_migrate.c), as `xl migrate` and `xl migrate-receive` speak it over
 * the pipe of `sh -c "exec ssh HOST xl migrate-receive"`: the receiver's banner; the sender's save
 * file header and config (config/savefile.ts), then the domain's state; the receiver's "ready",
 * the sender's "go", the receiver's report and a status byte (then, on failure, its permission
 * for the sender to resume). The fixed messages are Xen's, byte for byte.
 *
 * The state is QEMU's migration stream, which does not say where it ends on a pipe that carries
 * more afterwards: it travels in frames, a u32 little-endian length then that many bytes, and a
 * frame of length 0 ends it.
 */
import type { Readable, Writable } from 'node:stream';
import { ToolstackError } from '../common/index.js';

export const RECEIVER_BANNER = 'xl migration receiver ready, send binary domain data.\n';
export const RECEIVER_READY = 'domain received, ready to unpause\0';
export const PERMISSION_TO_GO = 'domain is yours, you are cleared to unpause\0';
export const RECEIVER_REPORT = 'my copy unpause results are as follows\0';

/** Exact-length reads from a stream that other readers do not touch. */
export class StreamReader {
  #chunks: Buffer[] = [];
  #have = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#have += c.length;
      this.#wake?.();
    });
    const end = (): void => {
      this.#ended = true;
      this.#wake?.();
    };
    stream.once('end', end).once('close', end).once('error', end);
    this.#stream = stream;
  }

  readonly #stream: Readable;

  /** Stops reading: the stream is destroyed (a process reading its stdin can then exit). */
  close(): void {
    this.#stream.destroy();
  }

  /** The next `n` bytes; rejects when the stream ends first (`what` names them). */
  async read(n: number, what: string): Promise<Buffer> {
    while (this.#have < n) {
      if (this.#ended) throw new ToolstackError('MIGRATION', `migration stream: the stream ended before the ${what}`, { hint: 'the other end of the migration stopped; see its messages above' });
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const c = this.#chunks[0] as Buffer;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#have -= n;
    return out;
  }
}

/**
 * Reads fixed message `msg` (xl's migrate_read_fixedmessage): anything else, or an end of the
 * stream, is a MIGRATION error with xl's lines (`rune`: the sender's command, for the second line).
 */
export async function expectMessage(r: StreamReader, msg: string, what: string, rune?: string): Promise<void> {
  const stream = rune === undefined ? 'migration stream' : 'migration receiver stream';
  let got: Buffer;
  try {
    got = await r.read(Buffer.byteLength(msg, 'latin1'), what);
  } catch (e) {
    const line = `${stream}: ${(e as Error).message.replace(/^migration stream: /, '')}`;
    throw new ToolstackError('MIGRATION', line, { lines: [line, ...(rune === undefined ? [] : [`(command run was: ${rune} )`])] });
  }
  if (got.toString('latin1') !== msg) {
    const line = `${stream} contained unexpected data instead of ${what}`;
    throw new ToolstackError('MIGRATION', line, { lines: [line, ...(rune === undefined ? [] : [`(command run was: ${rune} )`])] });
  }
}

/** Writes `data` and resolves once the stream took it (rejects when it is closed). */
export function writeAll(w: Writable, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    w.write(data, (e) => (e === null || e === undefined ? resolve() : reject(e)));
  });
}

/**
 * Writes `data` into a flowing relay: resolves at once while `w` takes more, else once it has
 * drained; rejects when `w` closes first (its reader went away), so a relay never waits forever.
 */
export async function relayWrite(w: Writable, data: Buffer, what: string): Promise<void> {
  if (w.destroyed) throw relayGone(what);
  if (w.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = (): void => {
      w.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      w.off('drain', drained);
      reject(relayGone(what));
    };
    w.once('drain', drained).once('close', closed);
  });
}

function relayGone(what: string): ToolstackError {
  return new ToolstackError('MIGRATION', `migration stream: ${what} stopped taking the stream`, { hint: 'see its messages above' });
}

/** `data` as one frame of the state stream. */
export function frame(data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(data.length, 0);
  return Buffer.concat([h, data]);
}

/** The frame that ends the state stream. */
export const END_FRAME = Buffer.alloc(4);
