/**
 * A domain's machine to and from an xl save file (`xl save`, `xl restore`), with QEMU's migration
 * stream as the state stream (see api/savefile.ts for the file).
 *
 * Save: the header is written to a new file beside the target (host/pinned.ts: `.dom0-save-RANDOM`,
 * mode 0600, one per save: two saves to one target never share it, in the directory as it was
 * when the save began), the guest is stopped (Xen suspends it), QEMU migrates to `exec:` a shell
 * that appends the stream to that file through dom0d's descriptor of it and, only when that
 * finished, writes a marker; dom0d then fsyncs it (it has flushed it while the stream came; the
 * fsync runs off dom0d's event loop), renames it to the target and fsyncs the directory, before
 * the domain may go. The shell never opens a name: one swapped for a link meanwhile (to a file
 * of root's) is never written through. The target name
 * therefore never holds a partial file, and a failure (QEMU's, the disk's, a deadline) removes
 * both temporaries and resumes the guest if it was running. Restore: QEMU starts with `-incoming
 * fd:0`, its stdin the save file opened here at its stream, and the domain's start waits until QEMU
 * has read the whole stream.
 */
import { closeSync, constants, fdatasync, fstatSync, fsync, openSync, readSync, statfsSync, writeSync } from 'node:fs';
import { isErrno, monotonicMs, othersMayWrite, SAVE_FILE_OWNER_HINT, terminalSafe, ToolstackError, WakeablePause } from '../common/index.js';
import { strerror } from '../config/index.js';
import { heldPath } from '../host/index.js';
import type { ReplacingFile } from '../host/index.js';
import { QmpTimeoutError } from '../qemu/index.js';
import type { QmpClient, QmpMigrationInfo } from '../qemu/index.js';
import type { MigrationStats } from './driver.js';

/** `text` as one word of /bin/sh. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Save file `path` opened for QEMU to restore from, positioned at its stream (byte `offset`). It
 * is opened once, here, so what is checked is what QEMU reads (a name swapped for another file
 * after the check is not followed), and a FIFO is refused, never waited on. Fails with code SAVE_FILE.
 */
export function openSaveStream(path: string, offset: number): number {
  const refused = (reason: string, hint = 'give the file xl save wrote'): ToolstackError => {
    const line = `Cannot open save file '${terminalSafe(path)}': ${reason}`;
    return new ToolstackError('SAVE_FILE', line, { lines: [line], hint });
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw refused(isErrno(e) ? strerror(e.code) : String(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refused('not a plain file (a directory, device, FIFO or socket)');
    const foreign = othersMayWrite(st);
    if (foreign !== undefined) throw refused(foreign, SAVE_FILE_OWNER_HINT);
    if (st.size <= offset) throw refused(`it ends (${st.size} bytes) before its state stream (byte ${offset})`);
    // Reads (not a seek: Node has none) move the file's offset, which QEMU's reads go on from.
    const skip = Buffer.allocUnsafe(Math.min(offset, 1 << 20));
    for (let left = offset; left > 0;) {
      const n = readSync(fd, skip, 0, Math.min(left, skip.length), null);
      if (n === 0) throw refused(`it ends before its state stream (byte ${offset})`);
      left -= n;
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * QEMU's migration URI for streaming into named pipe `fifo`. QEMU's `exec:` child, `cat` (the
 * shell execs it: it is QEMU's only child for the stream), copies its pipe into the FIFO; QEMU
 * reports completion once it has written the stream and then waits for that child to exit, so its
 * monitor answers again once the FIFO's reader has taken the last bytes.
 */
export function outgoingTo(fifo: string): string {
  return `exec:exec cat > ${shellQuote(fifo)}`;
}

/**
 * When an outgoing migration counts as stalled: QEMU sent nothing for `ms` (the receiver or the
 * link stopped taking the stream; a link cut without a reset looks the same; so does a receiver
 * whose domain takes longer than that to start reading). QEMU 7.2 cannot cancel a migration
 * blocked writing into an `exec:` pipe (it stays `cancelling`), and while it writes the last part
 * it holds its monitor too; so the guard polls with short deadlines, takes no answer for no
 * progress, and `unblock` ends the writer (`cat`): the write fails and QEMU answers again.
 */
export interface StallGuard {
  readonly ms: number;
  readonly unblock: () => void;
}

/** The deadline of one status poll under a stall guard: a blocked monitor is waited out, not an error. */
const GUARDED_POLL_MS = 1000;

/** The downtime QEMU aims for: its stop-and-copy starts once the rest fits in it. */
const DOWNTIME_LIMIT_MS = 50;
/**
 * Passes over RAM after which the guest is stopped and the rest sent whatever it takes, as libxc
 * bounds its pre-copy (5 iterations): QEMU alone copies on until the dirty rate falls under what
 * the link takes within the downtime limit, which a guest writing faster than the link never
 * lets happen. Then the limit becomes QEMU's highest, STOP_AND_COPY_MS.
 */
const MAX_PASSES = 5;
const STOP_AND_COPY_MS = 2_000_000;

/**
 * Migrates the running machine to `uri` live (pre-copy while the guest runs, then a stop-and-copy
 * under QEMU's downtime limit, or after MAX_PASSES); resolves with QEMU's figures once complete
 * and its writer has handed over the last bytes (the machine is then stopped). On failure the
 * machine runs on if it ran.
 */
export async function migrateMachine(qmp: QmpClient, uri: string, timeoutMs: number, stall?: StallGuard): Promise<MigrationStats> {
  await leavePostmigrate(qmp);
  const wasRunning = (await qmp.queryStatus()).running;
  try {
    await qmp.migrateSetParameters({ 'max-bandwidth': 2 ** 40, 'downtime-limit': DOWNTIME_LIMIT_MS });
    await qmp.migrateSetCapabilities({ events: true });
    await qmp.migrate(uri);
    await migrationDone(qmp, 'Migration', timeoutMs, stall);
    // QEMU says `completed` a moment before it has computed the totals (read at its event, the
    // figures can still be 0), and its monitor waits for its `exec:` child to exit: they are read
    // again until they are there.
    const since = monotonicMs();
    for (let answered = 0; ;) {
      const info = await guardedQuery(qmp, stall);
      if (info !== undefined && ((info['total-time'] ?? 0) > 0 || ++answered > 50)) {
        return { totalMs: info['total-time'] ?? 0, downtimeMs: info.downtime ?? 0, ramBytes: info.ram?.['transferred'] ?? 0 };
      }
      if (info === undefined && stall !== undefined && monotonicMs() - since > stall.ms) throw stalled(stall, 'Migration', monotonicMs() - since);
      await new Promise((r) => setTimeout(r, 2));
    }
  } catch (e: unknown) {
    // QEMU resumes the guest itself once a failed migration has ended: `cont` waits for that.
    await qmp.execute('migrate_cancel', undefined, { timeoutMs: GUARDED_POLL_MS }).catch(() => undefined);
    for (const until = monotonicMs() + 5000; monotonicMs() < until && !ENDED.has((await guardedQuery(qmp, stall).catch(() => undefined))?.status ?? '');) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (wasRunning) await qmp.cont().catch(() => undefined);
    throw e;
  }
}

/**
 * QEMU refuses to migrate (or save) a machine it left stopped after a migration (`postmigrate`:
 * a domain paused when `xl save -c` checkpointed it), where Xen checkpoints a paused domain again
 * and again: such a machine is run and stopped (paused) again first, running only for the moment
 * between QEMU's `cont` and `stop`.
 */
async function leavePostmigrate(qmp: QmpClient): Promise<void> {
  if ((await qmp.queryStatus()).status !== 'postmigrate') return;
  await qmp.cont();
  await qmp.stop();
}

/** QEMU's migration statuses once a migration is over (or never was). */
const ENDED: ReadonlySet<string> = new Set(['none', 'completed', 'failed', 'cancelled']);

/** QEMU's migration status; under a stall guard, undefined when QEMU did not answer in time. */
async function guardedQuery(qmp: QmpClient, stall: StallGuard | undefined): Promise<QmpMigrationInfo | undefined> {
  if (stall === undefined) return qmp.queryMigrate();
  try {
    return (await qmp.execute('query-migrate', undefined, { timeoutMs: GUARDED_POLL_MS })) as QmpMigrationInfo;
  } catch (e: unknown) {
    if (e instanceof QmpTimeoutError) return undefined;
    throw e;
  }
}

/** The error of a stalled migration (see StallGuard), its writer killed (`migrateMachine` cancels it). */
function stalled(stall: StallGuard, what: string, quietMs: number): ToolstackError {
  stall.unblock();
  const quiet = quietMs >= 1000 ? `${Math.round(quietMs / 1000)} s` : `${Math.round(quietMs)} ms`;
  return new ToolstackError('MIGRATION', `${what} stalled: nothing was sent for ${quiet}`, {
    hint: 'the receiving host or the link to it stopped taking the stream',
  });
}

/**
 * Waits until QEMU's migration (out or in) has completed; QEMU with its reason when it failed.
 * QEMU's status is read at each MIGRATION event (sent once the `events` capability is on) and
 * every 10 ms (an incoming stream starts before any capability can be set). An outgoing one
 * past MAX_PASSES gets QEMU's highest downtime limit. With `stall`, an outgoing migration that
 * sent nothing for `stall.ms` fails with MIGRATION, its writer killed; with `connectWithinMs`, an
 * incoming one that nobody connected to within that time does.
 */
export async function migrationDone(qmp: QmpClient, what: string, timeoutMs: number, stall?: StallGuard, connectWithinMs?: number): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  const connectBy = connectWithinMs === undefined ? undefined : monotonicMs() + connectWithinMs;
  const poll = new WakeablePause();
  const off = qmp.onEvent('MIGRATION', () => poll.wake());
  let sent = -1;
  let sentAt = monotonicMs();
  let bounded = false;
  try {
    for (;;) {
      const info = await guardedQuery(qmp, stall);
      if (info?.status === 'completed') return;
      if (!bounded && info?.status === 'active' && (info.ram?.['dirty-sync-count'] ?? 0) >= MAX_PASSES) {
        bounded = true;
        // Not answered in time (the monitor held while QEMU writes): the stall guard tells.
        await qmp.execute('migrate-set-parameters', { 'downtime-limit': STOP_AND_COPY_MS }, { timeoutMs: GUARDED_POLL_MS }).catch(() => undefined);
      }
      if (info?.status === 'failed' || info?.status === 'cancelled') {
        throw new ToolstackError('QEMU', `${what} failed: ${info['error-desc'] ?? info.status}`);
      }
      // An incoming QEMU reports no status until its stream's sender has connected.
      if (connectBy !== undefined && info !== undefined && info.status === undefined && monotonicMs() > connectBy) {
        throw new ToolstackError('MIGRATION', `${what}: nothing connected to the receiving QEMU within ${Math.round((connectWithinMs as number) / 1000)} s`, {
          hint: 'the receiving xl stopped before it handed the stream over',
        });
      }
      if (stall !== undefined && info !== undefined && (info.ram?.['transferred'] ?? 0) !== sent) {
        sent = info.ram?.['transferred'] ?? 0;
        sentAt = monotonicMs();
      } else if (stall !== undefined && monotonicMs() - sentAt > stall.ms) {
        throw stalled(stall, what, monotonicMs() - sentAt);
      }
      if (monotonicMs() > deadline) {
        await qmp.execute('migrate_cancel').catch(() => undefined);
        throw new ToolstackError('QEMU', `${what} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      }
      if (info !== undefined) await poll.pause(10);
    }
  } finally {
    off();
  }
}

/**
 * Writes `header` and the machine's state to `out` and commits it; resolves with the file's
 * size. The machine is left stopped; `wasRunning` says whether to resume it on failure.
 */
export async function saveMachine(qmp: QmpClient, out: ReplacingFile, header: Buffer, wasRunning: boolean, timeoutMs: number): Promise<number> {
  const asked = out.target;
  const fail = (e: unknown): ToolstackError => {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof ToolstackError) return e;
    // In libc's words, naming the file asked for (not the temporary beside it that failed).
    const why = typeof err.code === 'string' && !err.code.startsWith('ERR_') ? strerror(err.code) : err.message;
    return new ToolstackError(err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'NO_SPACE' : 'SAVE_FILE', `Cannot write save file '${asked}': ${why}`, {
      cause: e, hint: err.code === 'ENOSPC' ? 'free space on its file system, or save elsewhere' : 'check the directory exists and is writable',
    });
  };
  const fd = out.fd;
  let streaming = false;
  let flushed: Promise<void> = Promise.resolve();
  try {
    writeSync(fd, header);
    // A guest that powered off, rebooted or crashed just before the stop (its on_* action is
    // queued behind this save): its machine's state says so (or, a request QEMU took after the
    // stop, its event does: the state stays `paused`), QEMU would run no restore of it
    // ("Resetting the Virtual Machine is required"), and the save destroyed the domain.
    let ended: 'shut down or rebooted' | 'crashed' | undefined;
    const offs = [qmp.onEvent('SHUTDOWN', () => (ended ??= 'shut down or rebooted')), qmp.onEvent('GUEST_PANICKED', () => (ended ??= 'crashed'))];
    try {
      await leavePostmigrate(qmp);
      await qmp.stop();
      const { status } = await qmp.queryStatus();
      if (status === 'shutdown') ended ??= 'shut down or rebooted';
      if (status === 'guest-panicked') ended ??= 'crashed';
    } finally {
      for (const off of offs) off();
    }
    if (ended !== undefined) {
      throw new ToolstackError('DOMAIN_STATE', `Cannot save to '${asked}': the guest ${ended} as the save began`, {
        hint: 'its on_poweroff, on_reboot or on_crash action follows; no file was written',
      });
    }
    // A local file: no bandwidth limit (QEMU's default throttles migrations to 32 MiB/s).
    await qmp.migrateSetParameters({ 'max-bandwidth': 2 ** 40 });
    await qmp.migrateSetCapabilities({ events: true });
    // The shell appends to the file dom0d made, through dom0d's descriptor of it (never by its
    // name), and says in the marker when cat is done.
    await qmp.migrate(`exec:cat >> ${shellQuote(out.path)} && echo >> ${shellQuote(out.marker())}`);
    // The disk writes what has come while the stream is still coming: the fsync at the end has
    // only the tail left to write.
    streaming = true;
    flushed = flushWhile(fd, () => streaming);
    flushed.catch(() => undefined); // awaited below; its error is the save's
    await migrationDone(qmp, `Saving to '${asked}'`, timeoutMs);
    // QEMU reports completion when it has written the stream; cat may still be writing it.
    for (const until = monotonicMs() + timeoutMs; !out.marked();) {
      if (monotonicMs() > until) throw new ToolstackError('SAVE_FILE', `Saving to '${asked}': the stream was not complete within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    streaming = false;
    // The last fsync covers what a flush still under way has not: it need not be waited for first.
    await Promise.all([flushed, new Promise<void>((resolve, reject) => fsync(fd, (e) => (e === null ? resolve() : reject(e))))]);
    // The domain goes once this returns: its file's name is on disk too (the directory synced).
    out.commit();
    return fstatSync(fd).size;
  } catch (e: unknown) {
    streaming = false;
    await flushed.catch(() => undefined);
    // QEMU only sees its pipe break when the file system fills up: say what the cause was.
    const full = e instanceof ToolstackError && e.code === 'QEMU' && nearlyFull(heldPath(fd));
    out.discard();
    if (wasRunning) await qmp.cont().catch(() => undefined);
    if (full) {
      throw new ToolstackError('NO_SPACE', `Cannot write save file '${asked}': its file system is full`, {
        cause: e, hint: 'free space there or save elsewhere: the file needs about as much as the guest\'s memory',
      });
    }
    throw fail(e);
  }
}

/** fdatasync of `fd` over and over while `going()`; resolves when it stops (rejects on an I/O error). */
async function flushWhile(fd: number, going: () => boolean): Promise<void> {
  while (going()) {
    await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Less than 1 MiB left for an unprivileged writer on the file system of `dir`. */
function nearlyFull(dir: string): boolean {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize < 1 << 20;
  } catch {
    return false;
  }
}

