/**
 * Snapshots: the whole state as of one instant (every node, parents before children, then the
 * introduced domains), as a header (`"DOM0XSS1"`, uint32 epoch) and frames of at most
 * SNAPSHOT_BATCH records.
 *
 * A new epoch begins in two steps. `installSnapshot` writes and syncs `snapshot.tmp` and an
 * empty `journal-<epoch>.log`, then renames the snapshot over `snapshot`: until that rename the
 * old snapshot and journal stay the state, and a failure removes the new files. `retireEpoch`
 * then syncs the directory (making the rename durable) and removes the old journal; until it
 * has succeeded no change may be acknowledged in the new journal.
 */
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Gap, ScannedFrame } from './frame.js';
import { encodeFrame, scanFrames } from './frame.js';
import { createJournal, journalName, removeIfExists, SNAPSHOT, SNAPSHOT_HEADER, SNAPSHOT_MAGIC, SNAPSHOT_TMP, StateWriteError, syncDir, writeFully } from './state-dir.js';
import type { StoreRecord } from './store.js';

const SNAPSHOT_BATCH = 1024;

/** Makes `records` the snapshot of `epoch` (see above); returns the new journal, open. */
export function installSnapshot(dir: string, epoch: number, records: Iterable<StoreRecord>, sync: boolean): number {
  const tmp = join(dir, SNAPSHOT_TMP);
  writeSnapshotTmp(dir, epoch, records, sync);
  let fd: number;
  try {
    fd = createJournal(dir, epoch, sync);
  } catch (e) {
    removeIfExists(tmp);
    throw e;
  }
  try {
    renameSync(tmp, join(dir, SNAPSHOT));
  } catch (e) {
    closeSync(fd);
    removeIfExists(join(dir, journalName(epoch)));
    removeIfExists(tmp);
    throw new StateWriteError('Installing the xenstore snapshot', join(dir, SNAPSHOT), e);
  }
  return fd;
}

/** The second step (see above), once `installSnapshot` made `oldEpoch + 1` the state. */
export function retireEpoch(dir: string, oldEpoch: number, sync: boolean): void {
  try {
    if (sync) syncDir(dir);
    removeIfExists(join(dir, journalName(oldEpoch)));
  } catch (e) {
    throw new StateWriteError('Syncing the xenstore state directory', dir, e);
  }
}

/** Writes `records` as the snapshot of `epoch` to `snapshot.tmp` (synced when `sync`); on failure removes it. */
function writeSnapshotTmp(dir: string, epoch: number, records: Iterable<StoreRecord>, sync: boolean): void {
  const path = join(dir, SNAPSHOT_TMP);
  try {
    const fd = openSync(path, 'w', 0o600);
    try {
      const head = Buffer.allocUnsafe(SNAPSHOT_HEADER);
      SNAPSHOT_MAGIC.copy(head, 0);
      head.writeUInt32LE(epoch, SNAPSHOT_MAGIC.length);
      writeFully(fd, head);
      let batch: StoreRecord[] = [];
      for (const r of records) {
        batch.push(r);
        if (batch.length >= SNAPSHOT_BATCH) {
          writeFully(fd, encodeFrame(batch));
          batch = [];
        }
      }
      if (batch.length > 0) writeFully(fd, encodeFrame(batch));
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    removeIfExists(path);
    throw new StateWriteError('Writing the xenstore snapshot', path, e);
  }
}

/** A snapshot file read back: its epoch and frames, or `epoch` undefined when its header is not a snapshot's. */
export type SnapshotContent =
  | { readonly epoch: number; readonly frames: readonly ScannedFrame[]; readonly gaps: readonly Gap[] }
  | { readonly epoch: undefined };

export function readSnapshot(buf: Buffer): SnapshotContent {
  if (buf.length < SNAPSHOT_HEADER || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return { epoch: undefined };
  return { epoch: buf.readUInt32LE(SNAPSHOT_MAGIC.length), ...scanFrames(buf, SNAPSHOT_HEADER) };
}
