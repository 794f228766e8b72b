/**
 * xl's migration channel (xl_migrate.c), as `xl migrate` and `xl migrate-receive` speak it over
 * the pipe of `sh -c "exec ssh HOST xl migrate-receive"`: the receiver's banner; the sender's save
 * file header and config (api/savefile.ts), then the domain's state; the receiver's "ready",
 * the sender's "go", the receiver's report and a status byte (then, on failure, its permission
 * for the sender to resume). The fixed messages are Xen's, byte for byte.
 *
 * The state is QEMU's migration stream, as it is: the sender's QEMU writes it into the transport
 * (a named pipe that is the transport's stdin: `openFifo`), and the receiver hands all it reads
 * to its QEMU until that QEMU has loaded the stream, which says itself where it ends. Nothing else
 * can come meanwhile: the sender writes again only once the receiver said "ready".
 */
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { ToolstackApi } from '../api/index.js';
import { isToolstackError, MAX_DOMAIN_NAME_BYTES, ToolstackError } from '../common/index.js';

/**
 * The name a domain has while it migrates, as Xen's xl gives it: `NAME--incoming` at the
 * receiver until it is the migrated one, `NAME--migratedaway` at the sender once the receiver has
 * it. For a name too long for that (dom0's names are file names), the name cut to fit at a
 * character boundary plus `~` and 8 hex digits of its hash, so that two such domains do not meet.
 */
export function migrationName(name: string, suffix: '--incoming' | '--migratedaway'): string {
  if (Buffer.byteLength(name) + suffix.length <= MAX_DOMAIN_NAME_BYTES) return `${name}${suffix}`;
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}${suffix}`;
  let cut = '';
  for (const c of name) {
    if (Buffer.byteLength(cut + c) + tag.length > MAX_DOMAIN_NAME_BYTES) break;
    cut += c;
  }
  return `${cut}${tag}`;
}

export const RECEIVER_BANNER = 'xl migration receiver ready, send binary domain data.\n';
export const RECEIVER_READY = 'domain received, ready to unpause\0';
export const PERMISSION_TO_GO = 'domain is yours, you are cleared to unpause\0';
export const RECEIVER_REPORT = 'my copy unpause results are as follows\0';

/** Bytes a reader holds before it stops reading its stream (until they are taken). */
const READ_AHEAD = 8 << 20;

/** libuv's handle under one of Node's sockets or pipes (what `detach` and `resume` drive). */
interface ReadHandle {
  readStart(): number;
  readStop(): number;
  reading?: boolean;
  fd?: number;
}

/**
 * Exact-length reads, and relays of the state stream, from a stream that other readers do not
 * touch (or only while it is detached). It reads ahead up to `READ_AHEAD` bytes.
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
   * Writes all the stream brings into `w` as it comes (no copies), until `done` settles: resolves
   * then, or rejects with its reason. Waits while `w` asks to; rejects when `w` closes (`what`
   * names it) or the stream ends first.
   */
  async relayUntil(w: Writable, what: string, done: Promise<unknown>): Promise<void> {
    let settled = false;
    let failure: Error | undefined;
    done.then(() => {
      settled = true;
      this.#wake?.();
    }, (e: unknown) => {
      settled = true;
      failure = e instanceof Error ? e : new Error(String(e));
      this.#wake?.();
    });
    for (;;) {
      if (settled) {
        if (failure !== undefined) throw failure;
        return;
      }
      if (this.#have > 0) {
        if (!w.write(this.#take(this.#have))) await drained(w, what);
        continue;
      }
      if (this.#ended) throw new ToolstackError('MIGRATION', 'migration stream: the stream ended before the domain\'s state was complete', { hint: 'the other end of the migration stopped; see its messages above' });
      if (this.#stream.isPaused()) this.#stream.resume();
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
  }

  /**
   * Stops reading at once and gives the bytes held, in order, and the stream's file descriptor;
   * until `resume`, nothing more is read (the reads stop in the kernel, not only in Node), so
   * another process may read that descriptor meanwhile. Undefined, and nothing changed, when the
   * stream cannot stop so (it is not one of Node's sockets or pipes).
   */
  detach(): { readonly held: Buffer; readonly fd: number } | undefined {
    const handle = this.#handle();
    const fd = handle?.fd;
    if (handle === undefined || typeof fd !== 'number' || fd < 0) return undefined;
    this.#stream.pause();
    // What Node read but had not emitted comes out as 'data' to the listener above. A read() may
    // ask the handle to read again, which happens only in a later turn of the event loop: the
    // reads are stopped after it, in this turn.
    while (this.#stream.read() !== null);
    handle.readStop();
    handle.reading = false;
    const held = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#have = 0;
    return { held, fd };
  }

  /** Reads again after `detach` (the handle directly: the stream believes a read is under way). */
  resume(): void {
    const handle = this.#handle();
    if (this.#ended || handle === undefined) return;
    if (handle.reading === false) {
      handle.reading = true;
      handle.readStart();
    }
    this.#stream.resume();
  }

  /** The stream's libuv handle, when it is one of Node's sockets or pipes. */
  #handle(): ReadHandle | undefined {
    const handle = (this.#stream as Readable & { _handle?: Partial<ReadHandle> | null })._handle;
    return typeof handle?.readStart === 'function' && typeof handle.readStop === 'function' ? handle as ReadHandle : undefined;
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
 * A named pipe made at `path` (mode 0600), open at both ends, both blocking (neither open waits:
 * a non-blocking reader stands by while they are made).
 */
export function openFifo(path: string): { readonly path: string; readonly readFd: number; readonly writeFd: number } {
  const made = spawnSync('mkfifo', ['-m', '600', '--', path], { encoding: 'utf8' });
  if (made.status !== 0) {
    throw new ToolstackError('MIGRATION', `Cannot make the migration pipe ${path}: ${made.stderr?.trim() || made.error?.message || `mkfifo exit status ${made.status}`}`);
  }
  const standBy = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const writeFd = openSync(path, constants.O_WRONLY);
    return { path, writeFd, readFd: openSync(path, constants.O_RDONLY) };
  } finally {
    closeSync(standBy);
  }
}

/**
 * `work` (the sender's QEMU writing into named pipe `path`, which `transport` reads), with a
 * reader that throws away what comes standing in once `transport` has exited: a writer that
 * opens the pipe after that is not left waiting for a reader forever. Resolves as `work` does.
 */
export async function withStandInReader<T>(transport: ChildProcess, path: string, work: Promise<T>): Promise<T> {
  let standIn: Socket | undefined;
  const standInNow = (): void => {
    standIn = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    standIn.on('error', () => undefined);
    standIn.resume();
  };
  if (transport.exitCode !== null || transport.signalCode !== null) standInNow();
  else transport.once('exit', standInNow);
  try {
    return await work;
  } finally {
    transport.off('exit', standInNow);
    standIn?.destroy();
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

/**
 * Destroys domain `ref` through a dom0d killed meanwhile; one that is gone already (destroyed
 * before that dom0d died, or by the next one's start: see DomainRecord.arriving) is no failure.
 */
export async function destroyIfThere(api: ToolstackApi, ref: string): Promise<void> {
  await againWhileDom0dRestarts(() => api.destroyDomain({ ref })).catch((e: unknown) => {
    if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
  });
}

/**
 * `call` again while dom0d is unreachable (at most 4 tries, 250 ms apart), for the idempotent
 * calls that end a migration, where a dom0d killed at that moment must not decide the outcome: a
 * dying dom0d resets connections until its socket closes, then the next call starts one.
 */
export async function againWhileDom0dRestarts<T>(call: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await call();
    } catch (e) {
      if (tries === 4 || !isToolstackError(e, 'DAEMON_UNAVAILABLE')) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
