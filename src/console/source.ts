import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { isErrno, monotonicMs, ToolstackError } from '../common/index.js';
import { punchHole, writeFileAtomic } from '../host/index.js';

/** One console chardev of a QEMU: the Unix socket it serves, and the file it logs every byte to. */
export interface ConsoleEndpoint {
  readonly socket: string;
  readonly logFile?: string;
}

/** Where a source puts the guest's output (a `ConsoleLog`). */
export interface ConsoleSink {
  /** New output. */
  write(chunk: Uint8Array): void;
  /** Output taken in before this source (by an earlier dom0d): for replay only. */
  preload(chunk: Uint8Array): void;
  /** How much earlier output `preload` can hold. */
  readonly capacity: number;
  flushed(): Promise<void>;
}

export interface ConsoleSourceOptions {
  /** How long to retry connecting while the socket is not there yet (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** How often, at most, the consumed length of the log file is saved (default 250 ms). */
  readonly saveIntervalMs?: number;
  readonly onError?: (e: unknown) => void;
  /**
   * How far the consumed start of the log file may grow before its disk blocks are freed
   * (default 1 MiB; see `ConsoleSource`).
   */
  readonly trimStepBytes?: number;
  /** `fs.watch` (tests give one the kernel refuses). */
  readonly watch?: (file: string, listener: () => void) => FSWatcher;
}

/** Read size of the log-file tail. */
const READ_BYTES = 64 * 1024;

/**
 * Least time between two reads of the log file while output keeps arriving: a guest that writes
 * without pause costs dom0d at most this many reads a second instead of one per write (output
 * after a quiet spell, a keystroke's echo, is read at once).
 */
const FOLLOW_INTERVAL_MS = 20;

/** How often a log file no inotify watch follows is read. */
const UNWATCHED_POLL_MS = 250;

/** Default of `trimStepBytes`. */
const TRIM_STEP_BYTES = 1 << 20;

/**
 * dom0d's connection to one console chardev of a running QEMU (`-chardev socket,server=on,
 * wait=off,logfile=F,logappend=on`): keystrokes go to the guest through the socket, and the
 * guest's output reaches the sink.
 *
 * Output, exactly once: QEMU appends every byte the guest writes to `logFile`, whether a client
 * is connected or not, and a connected client gets the same bytes on the socket. With a log file
 * the source therefore takes the output from the file, not the socket: it reads the file from
 * the offset it has consumed so far, saved in `<logFile>.offset` once the sink has flushed the
 * bytes, and then follows the file as it grows (inotify, and every time the socket shows
 * activity; the socket's own bytes are discarded). A dom0d that restarts reconnects, preloads
 * the sink with the output before the saved offset (for replay), and continues from the offset:
 * what the guest printed meanwhile is read from the file, nothing twice. After a graceful stop this is exact; after a crash of dom0d the output of at
 * most the last save interval can appear twice in the ring (never lost). Without a log file the
 * socket's bytes go to the sink directly (output printed while dom0d is not connected is lost).
 *
 * The log file is never truncated (QEMU appends to it, and offsets into it must stay valid), but
 * its disk use is bounded: once the saved offset has moved `trimStepBytes` past the last trim,
 * the blocks before the sink's capacity's worth of bytes preceding it are freed (a hole reads as
 * zeros and is never read again: replay after a restart reads only that last capacity's worth).
 * A guest printing without end thus holds at most about capacity + step + what dom0d has not
 * read yet on disk, instead of filling the state directory.
 */
export class ConsoleSource {
  readonly endpoint: ConsoleEndpoint;
  readonly #sink: ConsoleSink;
  readonly #onError: (e: unknown) => void;
  readonly #saveIntervalMs: number;
  #socket: Socket | null = null;
  #file: FileHandle | null = null;
  #watcher: Pick<FSWatcher, 'close'> | null = null;
  /** Said once: the log file is read on a timer, for want of an inotify watch. */
  #unwatchableSaid = false;
  readonly #watchFile: (file: string, listener: () => void) => FSWatcher;
  #offset = 0;
  #savedOffset = 0;
  #pumping: Promise<void> | null = null;
  #again = false;
  #room: Promise<void> | null = null;
  readonly #waiters: { readonly target: number; readonly resolve: () => void }[] = [];
  #saveTimer: NodeJS.Timeout | null = null;
  readonly #trimStep: number;
  /** Offset past which the file's blocks are next freed (a step more); null: never again. */
  #trimmed: number | null = 0;
  #closed = false;
  readonly #ended: Promise<void>;
  #resolveEnded!: () => void;
  #hasEnded = false;
  /** `onEnded` callbacks: a Set, so one that is no longer wanted goes (a promise's reactions stay). */
  readonly #endWaiters = new Set<() => void>();

  private constructor(endpoint: ConsoleEndpoint, sink: ConsoleSink, options: ConsoleSourceOptions) {
    this.endpoint = endpoint;
    this.#sink = sink;
    this.#onError = options.onError ?? (() => undefined);
    this.#watchFile = options.watch ?? watch;
    this.#saveIntervalMs = options.saveIntervalMs ?? 250;
    this.#trimStep = options.trimStepBytes ?? TRIM_STEP_BYTES;
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /**
   * Connects to the chardev's socket (retrying while it does not exist yet), catches up with the
   * log file, and resolves once both are followed. Fails with code IO when the socket cannot be
   * reached in time.
   */
  static async open(endpoint: ConsoleEndpoint, sink: ConsoleSink, options: ConsoleSourceOptions = {}): Promise<ConsoleSource> {
    const src = new ConsoleSource(endpoint, sink, options);
    // With a log file the socket's bytes only say that the file grew: read into one reused
    // buffer and dropped, and a paused socket is not read at all (without `onread`, Node reads a
    // paused socket on until 16 KiB wait in it: a guest writing a byte at a time woke dom0d for
    // each few bytes, half a core for 100 KB/s).
    const socket = await connectWithRetry(endpoint.socket, options.connectTimeoutMs ?? 5000, endpoint.logFile === undefined ? undefined : () => src.#pump());
    src.#socket = socket;
    socket.on('error', (e) => src.#onError(e));
    socket.on('close', () => {
      src.#socket = null;
      void src.#finish();
    });
    if (endpoint.logFile === undefined) {
      socket.on('data', (d: Buffer) => sink.write(d));
      return src;
    }
    const logFile = endpoint.logFile;
    try {
      src.#offset = src.#savedOffset = await readOffset(`${logFile}.offset`);
      src.#file = await open(logFile, 'r');
      if (src.#offset > 0) {
        const from = Math.max(0, src.#offset - sink.capacity);
        const earlier = Buffer.alloc(src.#offset - from);
        const { bytesRead } = await src.#file.read(earlier, 0, earlier.length, from);
        sink.preload(earlier.subarray(0, bytesRead));
      }
      src.#watch();
      await src.drain();
    } catch (e: unknown) {
      socket.destroy();
      await src.#finish();
      throw new ToolstackError('IO', `Cannot follow the console log ${logFile}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return src;
  }

  /** True while the socket to QEMU is open. */
  get connected(): boolean {
    return this.#socket !== null;
  }

  /** Resolves when the source has stopped (QEMU closed the socket, or `close`). */
  /**
   * Calls `fn` once the source has ended (soon, when it has already); the function returned
   * forgets it. For waits that may be given up (a client that goes first): `ended.then` would
   * hold them until the console ends.
   */
  onEnded(fn: () => void): () => void {
    if (this.#hasEnded) {
      queueMicrotask(fn);
      return () => undefined;
    }
    this.#endWaiters.add(fn);
    return () => void this.#endWaiters.delete(fn);
  }

  /** `p`, or sooner once the source has ended; nothing of the wait stays once either came. */
  #untilEnded(p: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const off = this.onEnded(resolve);
      void p.then(() => {
        off();
        resolve();
      });
    });
  }

  get ended(): Promise<void> {
    return this.#ended;
  }

  /** Sends keystrokes to the guest; false when QEMU is not connected (they are dropped). */
  write(data: Uint8Array): boolean {
    if (this.#socket === null) return false;
    this.#socket.write(data);
    return true;
  }

  /**
   * True while QEMU is not taking the input already sent (a paused guest, or one that does not
   * read its console): a writer should wait for `inputRoom` rather than send more.
   */
  get inputBlocked(): boolean {
    return this.#socket?.writableNeedDrain === true;
  }

  /** Resolves once QEMU has taken the input sent so far, or the source has ended. */
  inputRoom(): Promise<void> {
    const socket = this.#socket;
    if (socket === null || !socket.writableNeedDrain) return Promise.resolve();
    // One wait, however many clients are held back.
    this.#room ??= this.#untilEnded(new Promise<void>((r) => socket.once('drain', r))).finally(() => {
      this.#room = null;
    });
    return this.#room;
  }

  /** Disconnects, after taking in what the log file holds now and saving the offset. */
  async close(): Promise<void> {
    this.#socket?.destroy();
    await this.#finish();
  }

  /** Reads the log file from the consumed offset to its end, again while more arrives. */
  #pump(): void {
    if (this.#file === null) return;
    if (this.#pumping !== null) {
      this.#again = true;
      return;
    }
    this.#pumping = (async () => {
      const buf = Buffer.alloc(READ_BYTES);
      do {
        this.#again = false;
        const file = this.#file;
        if (file === null) break;
        const size = (await file.stat()).size;
        if (size < this.#offset) this.#offset = 0; // the file was truncated: start it over
        while (this.#offset < size) {
          const { bytesRead } = await file.read(buf, 0, Math.min(READ_BYTES, size - this.#offset), this.#offset);
          if (bytesRead === 0) break;
          this.#offset += bytesRead;
          this.#sink.write(buf.subarray(0, bytesRead));
          this.#wake();
        }
        this.#scheduleSave();
        if (this.#again && !this.#closed) {
          // Nothing announces output while waiting (the next read takes what came meanwhile):
          // the socket's bytes gather in its buffer, and the file is not watched.
          this.#socket?.pause();
          this.#unwatch();
          await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
          if (this.#file !== null && !this.#closed) this.#watch();
          this.#socket?.resume();
        }
      } while (this.#again && !this.#closed);
    })().catch(this.#onError).finally(() => {
      this.#pumping = null;
    });
  }

  /**
   * Follows the log file's growth (inotify). A watch the kernel refuses (the host's
   * `fs.inotify.max_user_watches` reached, no descriptor left) is a read every
   * UNWATCHED_POLL_MS instead, until a later watch succeeds: before, the refusal stopped the
   * console for good (its socket was left paused, and nothing pumped it again).
   */
  #watch(): void {
    const logFile = this.endpoint.logFile;
    if (logFile === undefined || this.#watcher !== null) return;
    try {
      const watcher = this.#watchFile(logFile, () => this.#pump());
      watcher.on('error', (e) => this.#onError(e));
      this.#watcher = watcher;
    } catch (e: unknown) {
      if (!this.#unwatchableSaid) this.#onError(new Error(`${logFile}: cannot watch it (${e instanceof Error ? e.message : String(e)}): read every ${UNWATCHED_POLL_MS} ms instead`));
      this.#unwatchableSaid = true;
      const timer = setInterval(() => this.#pump(), UNWATCHED_POLL_MS);
      this.#watcher = { close: () => clearInterval(timer) };
    }
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }

  /**
   * Resolves once what the log file holds now has reached the sink (or the source has ended), also
   * while the guest goes on writing.
   */
  async drain(): Promise<void> {
    const file = this.#file;
    if (file === null) return;
    const target = (await file.stat()).size;
    if (this.#offset >= target) return;
    const reached = new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
    this.#pump();
    await this.#untilEnded(reached);
  }

  #wake(): void {
    for (const w of this.#waiters.filter((x) => x.target <= this.#offset)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Resolves once no read of the log file is running (once closed, a pass does not repeat). */
  async #drained(): Promise<void> {
    while (this.#pumping !== null) await this.#pumping;
  }

  #scheduleSave(): void {
    if (this.#saveTimer !== null || this.#offset === this.#savedOffset || this.#closed) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#save().catch(this.#onError);
    }, this.#saveIntervalMs);
  }

  /** Saves the offset once the sink holds everything before it durably. */
  async #save(): Promise<void> {
    const logFile = this.endpoint.logFile;
    if (logFile === undefined) return;
    const offset = this.#offset;
    await this.#sink.flushed();
    if (offset === this.#savedOffset) return;
    try {
      await writeFileAtomic(`${logFile}.offset`, `${offset}\n`);
    } catch (e: unknown) {
      // The domain's directory went with the domain: there is no feed left to resume.
      if (((e as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return;
      throw e;
    }
    this.#savedOffset = offset;
    await this.#trim(logFile, offset);
  }

  /** Frees the blocks of the file no replay will read again, a step at a time (`ConsoleSource`). */
  async #trim(logFile: string, offset: number): Promise<void> {
    const upTo = offset - this.#sink.capacity;
    if (this.#trimmed === null || upTo - this.#trimmed < this.#trimStep) return;
    try {
      await punchHole(logFile, upTo);
      this.#trimmed = upTo;
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      // A file that is gone went with its domain; a file system that cannot punch holes keeps the
      // file whole from here on (said once); anything else is tried again 8 steps later.
      if (code === 'ENOENT' || code === 'EOPNOTSUPP') this.#trimmed = null;
      else this.#trimmed = upTo + 7 * this.#trimStep;
      if (code !== 'ENOENT') throw e;
    }
  }

  async #finish(): Promise<void> {
    if (this.#closed) return this.#ended;
    this.#closed = true;
    if (this.#saveTimer !== null) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    try {
      if (this.#file !== null) {
        await this.#drained();
        this.#pump();
        await this.#drained();
        this.#unwatch();
        await this.#file.close();
        this.#file = null;
        await this.#save();
      }
    } catch (e: unknown) {
      this.#onError(e);
    } finally {
      this.#hasEnded = true;
      for (const fn of this.#endWaiters) fn();
      this.#endWaiters.clear();
      this.#resolveEnded();
    }
    return this.#ended;
  }
}

async function readOffset(path: string): Promise<number> {
  try {
    const n = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch (e: unknown) {
    if (isErrno(e, 'ENOENT')) return 0;
    throw e;
  }
}

/** A connection to `path`; with `onData`, its bytes go to one reused buffer and `onData` is told (no 'data' events). */
async function connectWithRetry(path: string, timeoutMs: number, onData?: () => void): Promise<Socket> {
  const deadline = monotonicMs() + timeoutMs;
  const onread = onData === undefined ? undefined : { buffer: Buffer.allocUnsafe(16 << 10), callback: (): boolean => {
    onData();
    return true;
  } };
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(onread === undefined ? { path } : { path, onread });
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e: unknown) {
      if (monotonicMs() >= deadline || !(isErrno(e, 'ENOENT') || isErrno(e, 'ECONNREFUSED'))) {
        throw new ToolstackError('IO', `Cannot connect to the console socket ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
