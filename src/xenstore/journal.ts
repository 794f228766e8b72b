/**
 * The journal: every change to acknowledge is a frame (frame.ts) appended to
 * `journal-<epoch>.log` of the state directory (state-dir.ts), with group commit.
 *
 * `append` queues a frame and returns its sequence number. The frames queued during one
 * event-loop turn are written as a group: one write and one fdatasync. Then either
 * `onDurable(seq)` runs (every frame up to `seq` is on disk), or `onFailed(seq, err)` runs: the
 * write or the sync failed (a full file system, an I/O error, a short write), the frames of the
 * group and any queued after it, up to `seq`, are discarded, and the file is cut back to where
 * the group began, so it stays a sequence of good frames. The journal stays usable: the next
 * group is written as if nothing had happened (a cut that failed is retried first; until it
 * succeeds every group fails). `settled` is the highest sequence number whose fate is known.
 *
 * Compaction: after a group, when nothing else is queued (so the state is exactly what is on
 * disk) and the journal has outgrown `compactBytes` and the snapshot, the state becomes the
 * snapshot of a new epoch (snapshot.ts). If that fails (say, for want of space) the old snapshot and journal stay
 * the state, and compaction is tried again once the journal has grown by another `compactBytes`.
 *
 * Opening recovers the state directory (recovery.ts): its records go to the state's `replay`,
 * and if damaged files were kept aside the replayed state at once becomes the snapshot of a new
 * epoch.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, statSync, unlinkSync, write } from 'node:fs';
import { join } from 'node:path';
import { BugError } from '../common/index.js';
import { encodeFrame, FRAME_HEADER, MAX_FRAME } from './frame.js';
import type { Damage } from './recovery.js';
import { recoverState } from './recovery.js';
import { installSnapshot, retireEpoch } from './snapshot.js';
import { createJournal, JOURNAL_MAGIC, journalName, lockStateDir, shortWrite, SNAPSHOT, StateWriteError, syncDir } from './state-dir.js';
import type { StoreRecord } from './store.js';

export interface JournalOptions {
  /** Journal size that triggers compaction into a new snapshot (default 8 MiB). */
  readonly compactBytes?: number;
  /** Whether to fdatasync (default true; tests of logic may turn it off). */
  readonly sync?: boolean;
  /** Diagnostic lines (a compaction that failed). */
  readonly log?: (line: string) => void;
  /** The largest frame written (default and at most frame.ts's MAX_FRAME, which recovery reads); a larger one fails with E2BIG. */
  readonly maxFrameBytes?: number;
}

/** What the journal persists. */
export interface JournalledState {
  /** Rebuilds the state from the records recovered at open (called once, by `open`). */
  replay(records: readonly StoreRecord[]): void;
  /** The whole state as records, for a snapshot. */
  dump(): Iterable<StoreRecord>;
}

interface Waiter {
  readonly seq: number;
  resolve(): void;
  reject(e: StateWriteError): void;
}

export class Journal {
  readonly #dir: string;
  readonly #lock: string;
  readonly #maxFrame: number;
  readonly #state: JournalledState;
  readonly #compactBytes: number;
  readonly #sync: boolean;
  readonly #log: (line: string) => void;
  #epoch: number;
  #fd: number;
  #size: number;
  #compactAt: number;
  #queue: Buffer[] = [];
  #appended = 0;
  #settled = 0;
  #writing = false;
  #scheduled = false;
  #closed = false;
  /** Work that must succeed before another group is written; each throws a StateWriteError. */
  #repairs: (() => void)[] = [];
  #waiters: Waiter[] = [];
  #idle: (() => void)[] = [];
  onDurable: (seq: number) => void = () => {};
  onFailed: (seq: number, err: StateWriteError) => void = () => {};

  private constructor(dir: string, lock: string, state: JournalledState, opts: JournalOptions, epoch: number, fd: number, size: number) {
    this.#dir = dir;
    this.#lock = lock;
    this.#state = state;
    this.#compactBytes = opts.compactBytes ?? 8 * 1024 * 1024;
    this.#sync = opts.sync ?? true;
    this.#maxFrame = Math.min(opts.maxFrameBytes ?? MAX_FRAME, MAX_FRAME);
    this.#log = opts.log ?? (() => {});
    this.#epoch = epoch;
    this.#fd = fd;
    this.#size = size;
    this.#compactAt = this.#nextCompaction();
  }

  /**
   * The journal size at which to compact next: `compactBytes`, or the snapshot's size when it is
   * larger, so that a compaction (the whole store written and synced, on the event loop) comes
   * only after as many bytes of changes: the disk writes at most twice what is changed, and a large
   * store is not rewritten for every few MiB (a 200 MB store was, held 1.4 s each time).
   */
  #nextCompaction(): number {
    let snapshot = 0;
    try {
      snapshot = statSync(join(this.#dir, SNAPSHOT)).size;
    } catch {
      // none yet: the default
    }
    return Math.max(this.#compactBytes, snapshot);
  }

  /**
   * Opens (creating) the state directory, recovers it into `state` and readies the journal for
   * appends. Returns the damage recovery found (recovery.ts). Throws a ToolstackError when the
   * directory is locked by another xenstored or the recovered state cannot be written.
   */
  static open(dir: string, state: JournalledState, opts: JournalOptions = {}): { journal: Journal; damage: readonly Damage[] } {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = lockStateDir(dir);
    try {
      const recovered = recoverState(dir);
      state.replay(recovered.records);
      const sync = opts.sync ?? true;
      let { epoch } = recovered;
      let fd: number;
      if (recovered.rebase) {
        fd = installSnapshot(dir, epoch + 1, state.dump(), sync);
        try {
          retireEpoch(dir, epoch, sync);
        } catch (e) {
          closeSync(fd);
          throw e;
        }
        epoch++;
      } else if (recovered.journalEnd === undefined) {
        fd = createJournal(dir, epoch, sync);
        if (sync) syncDir(dir);
      } else {
        fd = openSync(join(dir, journalName(epoch)), 'r+');
        if (fstatSync(fd).size > recovered.journalEnd) {
          ftruncateSync(fd, recovered.journalEnd);
          if (sync) fdatasyncSync(fd);
        }
      }
      const size = recovered.journalEnd !== undefined && !recovered.rebase ? recovered.journalEnd : JOURNAL_MAGIC.length;
      return { journal: new Journal(dir, lock, state, opts, epoch, fd, size), damage: recovered.damage };
    } catch (e) {
      unlinkSync(lock);
      throw e;
    }
  }

  /** Highest sequence number queued. */
  get appended(): number {
    return this.#appended;
  }

  /** Highest sequence number whose frame is on disk or was discarded. */
  get settled(): number {
    return this.#settled;
  }

  /** A group is being written: frames appended now go into the next one. */
  get writing(): boolean {
    return this.#writing;
  }

  get #path(): string {
    return join(this.#dir, journalName(this.#epoch));
  }

  /** Queues one frame of `records` (at least one); returns its sequence number. */
  append(records: readonly StoreRecord[]): number {
    if (this.#closed) throw new BugError('append to a closed xenstore journal');
    this.#queue.push(encodeFrame(records));
    this.#appended++;
    this.#schedule();
    return this.#appended;
  }

  /** Resolves when frame `seq`, not yet settled, is durable; rejects with the failure that discarded it. */
  outcome(seq: number): Promise<void> {
    if (seq <= this.#settled) throw new BugError(`frame ${seq} is already settled`);
    return new Promise((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#writing) return;
    if (this.#queue.length === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
      return;
    }
    const failure = this.#repair() ?? this.#oversize();
    if (failure !== undefined) {
      this.#fail(failure);
      return;
    }
    const seq = this.#appended;
    const data = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue = [];
    const pos = this.#size;
    this.#writing = true;
    write(this.#fd, data, 0, data.length, pos, (err, written) => {
      if (err === null && written !== data.length) err = shortWrite(written, data.length);
      if (err !== null) this.#failed(pos, err);
      else if (!this.#sync) this.#written(seq, pos + data.length);
      else fdatasync(this.#fd, (e) => (e === null ? this.#written(seq, pos + data.length) : this.#failed(pos, e)));
    });
  }

  /** A queued frame recovery would not read (a transaction of hundreds of MiB): the group fails with E2BIG. */
  #oversize(): StateWriteError | undefined {
    const big = this.#queue.find((f) => f.length - FRAME_HEADER > this.#maxFrame);
    if (big === undefined) return undefined;
    const cause = Object.assign(new Error(`a change of ${big.length} bytes is larger than a journal frame holds (${this.#maxFrame})`), { code: 'E2BIG' });
    return new StateWriteError('Appending to the xenstore journal', this.#path, cause);
  }

  /** Runs the pending repairs in order; returns the failure of the first that fails (it stays pending). */
  #repair(): StateWriteError | undefined {
    while (this.#repairs.length > 0) {
      try {
        this.#repairs[0]!();
      } catch (e) {
        if (e instanceof StateWriteError) return e;
        throw e;
      }
      this.#repairs.shift();
    }
    return undefined;
  }

  #written(seq: number, end: number): void {
    this.#writing = false;
    this.#size = end;
    if (this.#queue.length === 0 && this.#size >= this.#compactAt) this.#compact();
    this.#settled = seq;
    const waiting: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.seq <= seq) w.resolve();
      else waiting.push(w);
    }
    this.#waiters = waiting;
    this.onDurable(seq);
    this.#flush();
  }

  /** The group written at `pos` failed: cut the file back there, discard everything queued. */
  #failed(pos: number, cause: unknown): void {
    this.#writing = false;
    const fd = this.#fd;
    const path = this.#path;
    this.#repairs.push(() => {
      try {
        ftruncateSync(fd, pos);
        if (this.#sync) fdatasyncSync(fd);
      } catch (e) {
        throw new StateWriteError('Cutting back the xenstore journal', path, e);
      }
    });
    this.#repair();
    this.#fail(new StateWriteError('Appending to the xenstore journal', path, cause));
  }

  #fail(err: StateWriteError): void {
    const seq = this.#appended;
    this.#queue = [];
    this.#settled = seq;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
    this.onFailed(seq, err);
    // Not at once: a repair that keeps failing would recurse through onFailed.
    if (this.#queue.length > 0) this.#schedule();
    else this.#flush();
  }

  /** Makes the state (all of it on disk) the snapshot of the next epoch; see the module comment. */
  #compact(): void {
    const epoch = this.#epoch + 1;
    let fd: number;
    try {
      fd = installSnapshot(this.#dir, epoch, this.#state.dump(), this.#sync);
    } catch (e) {
      this.#compactAt = this.#size + this.#compactBytes;
      this.#log(`xenstored: compacting the journal failed, the snapshot of epoch ${this.#epoch} and its journal stay the state: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const old = this.#epoch;
    closeSync(this.#fd);
    this.#fd = fd;
    this.#epoch = epoch;
    this.#size = JOURNAL_MAGIC.length;
    this.#compactAt = this.#nextCompaction();
    this.#repairs.push(() => retireEpoch(this.#dir, old, this.#sync));
    this.#repair();
  }

  /** Resolves once nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && !this.#writing && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    closeSync(this.#fd);
    unlinkSync(this.#lock);
  }
}
