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

/** Bytes a reader holds before it stops reading its stream (until they are taken). */
const READ_AHEAD = 8 << 20;

/**
 * Exact-length reads, and the state stream's frames, from a stream that other readers do not
 * touch. It reads ahead up to `READ_AHEAD` bytes.
 */
export class StreamReader {
  #chunks: Buffer[] = [];
  #have = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #stream: Readable;

  constructor(stream: Readable) {
    this.#stream = stream;
    stream.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#have += c.length;
      if (this.#have > READ_AHEAD) stream.pause();
      this.#wake?.();
    });
    const end = (): void => {
      this.#ended = true;
      this.#wake?.();
    };
    stream.once('end', end).once('close', end).once('error', end);
  }

  /** Stops reading: the stream is destroyed (a process reading its stdin can then exit). */
  close(): void {
    this.#stream.destroy();
  }

  /** The next `n` bytes; rejects when the stream ends first (`what` names them). */
  async read(n: number, what: string): Promise<Buffer> {
    await this.#fill(n, what);
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const c = this.#take(n - off);
      c.copy(out, off);
      off += c.length;
    }
    return out;
  }

  /**
   * Writes the payloads of the state stream's frames into `w` as they come, up to the frame of
   * length 0 (no copies: the bytes read go on as they are); waits while `w` asks to, and rejects
   * when it closes (`what` names it) or when `check` throws.
   */
  async relayFrames(w: Writable, what: string, check: () => void): Promise<void> {
    for (;;) {
      let left = (await this.read(4, 'stream frame')).readUInt32LE(0);
      if (left === 0) return;
      while (left > 0) {
        await this.#fill(1, 'stream frame');
        const part = this.#take(left);
        left -= part.length;
        check();
        if (!w.write(part)) await drained(w, what);
      }
    }
  }

  /** Waits until `n` bytes are held; rejects when the stream ends first. */
  async #fill(n: number, what: string): Promise<void> {
    while (this.#have < n) {
      if (this.#ended) throw new ToolstackError('MIGRATION', `migration stream: the stream ended before the ${what}`, { hint: 'the other end of the migration stopped; see its messages above' });
      if (this.#stream.isPaused()) this.#stream.resume();
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
  }

  /** Up to `max` of the bytes held, as they came (the first chunk, or its start). */
  #take(max: number): Buffer {
    const c = this.#chunks[0] as Buffer;
    const part = c.length <= max ? c : c.subarray(0, max);
    if (part === c) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(max);
    this.#have -= part.length;
    if (this.#have < READ_AHEAD / 2 && this.#stream.isPaused() && !this.#ended) this.#stream.resume();
    return part;
  }
}

/**
 * Sends what `source` gives (QEMU's stream) into `w` as frames: the bytes that came in one turn of
 * the event loop make one frame (up to 1 MiB), so the receiver handles few. Resolves once
 * `source` ended and its last frame is written; rejects when `w` closes first (`what` names its
 * reader) or `source` fails.
 */
export function framesInto(source: Readable, w: Writable, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer[] = [];
    let bytes = 0;
    let scheduled = false;
    const fail = (e: unknown): void => {
      source.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const flush = (): boolean => {
      scheduled = false;
      if (bytes === 0) return true;
      const head = Buffer.alloc(4);
      head.writeUInt32LE(bytes, 0);
      w.cork();
      let ok = w.write(head);
      for (const b of pending) ok = w.write(b);
      w.uncork();
      pending = [];
      bytes = 0;
      return ok;
    };
    const wait = (): void => {
      source.pause();
      drained(w, what).then(() => source.resume(), fail);
    };
    source.on('data', (c: Buffer) => {
      pending.push(c);
      bytes += c.length;
      if (bytes >= 1 << 20) {
        if (!flush()) wait();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          if (scheduled && !flush()) wait();
        });
      }
    });
    source.once('end', () => {
      flush();
      resolve();
    });
    source.once('error', fail);
  });
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
 * Resolves once `w`, whose last write asked to wait, has drained; rejects when it closes first
 * (its reader went away), so a relay never waits forever.
 */
export function drained(w: Writable, what: string): Promise<void> {
  if (w.destroyed) return Promise.reject(relayGone(what));
  return new Promise<void>((resolve, reject) => {
    const ok = (): void => {
      w.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      w.off('drain', ok);
      reject(relayGone(what));
    };
    w.once('drain', ok).once('close', closed);
  });
}

function relayGone(what: string): ToolstackError {
  return new ToolstackError('MIGRATION', `migration stream: ${what} stopped taking the stream`, { hint: 'see its messages above' });
}

/** The frame that ends the state stream. */
export const END_FRAME = Buffer.alloc(4);
