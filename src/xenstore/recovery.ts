/**
 * Recovery of a state directory at start: the snapshot, then the journal of its epoch.
 *
 * What is trusted:
 * - A snapshot holds the node states of one instant, so each of its good frames is true of that
 *   instant: every good frame is replayed, whatever bad stretches lie between them.
 * - A journal's frames are changes, each building on those before it: only the frames before its
 *   first bad stretch are replayed. A bad stretch with no good frame after it is a torn tail (a
 *   write cut short by a crash): it is cut off, which is no damage.
 * - A file with a bad header is not trusted at all. Without a readable snapshot header (or with
 *   no snapshot while a journal of a later epoch than the first is there: a snapshot deleted) the
 *   epoch is that of the newest journal, replayed onto an empty tree.
 * The store then drops what is not reachable from `/` (store.ts `repair`). So an intact snapshot
 * with a damaged journal gives the tree as it was after the journal's last good frame; a damaged
 * snapshot gives part of the tree, each node in it as it was last written.
 *
 * Damage is reported, never passed over silently: one `Damage` per damaged file. A damaged file
 * with something in it is kept aside as `<name>.damaged-<time>` and `rebase` is set: the caller
 * must write the recovered state as the snapshot of a new epoch before anything else, after which
 * the damaged files are no longer part of the state.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scanFrames } from './frame.js';
import { readSnapshot } from './snapshot.js';
import { JOURNAL_FILE, JOURNAL_MAGIC, journalName, keepAside, readIfExists, removeIfExists, SNAPSHOT, SNAPSHOT_TMP } from './state-dir.js';
import type { StoreRecord } from './store.js';

export interface Damage {
  /** The file's name in the state directory. */
  readonly file: string;
  /**
   * `torn`: a torn journal tail, cut off; `checksum`: bad frames; `empty`: an empty journal;
   * `header`: not a state file of ours; `missing`: no journal for the snapshot's epoch, or no
   * snapshot for a journal's;
   * `unused`: a journal of another epoch while the snapshot's epoch is unknown.
   */
  readonly kind: 'torn' | 'checksum' | 'empty' | 'header' | 'missing' | 'unused';
  /** Where the damage starts. */
  readonly offset: number;
  /** Bytes that could not be replayed. */
  readonly bytes: number;
  /** Journal: frames not replayed (the bad stretch and every frame after it). Snapshot: bad stretches. */
  readonly frames: number;
  /** The name the damaged file was kept under. */
  readonly keptAs?: string;
}

export interface RecoveredState {
  readonly epoch: number;
  readonly records: StoreRecord[];
  readonly damage: readonly Damage[];
  /** Length of the journal's good part; undefined when a new, empty journal must be made. */
  readonly journalEnd: number | undefined;
  /** Damaged files were kept aside: the state must be written as the snapshot of epoch + 1. */
  readonly rebase: boolean;
}

/** The log line for a damage. */
export function describeDamage(d: Damage): string {
  const kept = d.keptAs === undefined ? '' : `; the file is kept as ${d.keptAs}`;
  switch (d.kind) {
    case 'torn':
      return `${d.file}: dropped a torn journal tail of ${d.bytes} bytes at offset ${d.offset}`;
    case 'checksum':
      return d.file === SNAPSHOT
        ? `${d.file}: bad data from offset ${d.offset}; ${d.bytes} bytes in ${d.frames} bad stretch(es) could not be replayed (every good frame was)${kept}`
        : `${d.file}: bad frame at offset ${d.offset}; ${d.frames} frames (${d.bytes} bytes) from there on could not be replayed${kept}`;
    case 'empty':
      return `${d.file}: empty (no header); nothing to replay from it`;
    case 'header':
      return `${d.file}: bad header, not a dom0 xenstore ${d.file === SNAPSHOT ? 'snapshot' : 'journal'}; its ${d.bytes} bytes could not be replayed${kept}`;
    case 'missing':
      return d.file === SNAPSHOT
        ? `${d.file}: missing while a journal of a later epoch is there: the state before that journal is lost; the journal was replayed onto an empty tree${kept}`
        : `${d.file}: missing; changes made after the snapshot, if any, are lost`;
    case 'unused':
      return `${d.file}: not replayed, the snapshot's epoch being unknown${kept}`;
  }
}

/** Reads the state of `dir` (locked by the caller) as described above. */
export function recoverState(dir: string): RecoveredState {
  removeIfExists(join(dir, SNAPSHOT_TMP));
  const records: StoreRecord[] = [];
  const damage: Damage[] = [];
  const journals = readdirSync(dir).filter((n) => JOURNAL_FILE.test(n));
  const newest = Math.max(0, ...journals.map((n) => Number(JOURNAL_FILE.exec(n)![1])));

  const snap = readIfExists(join(dir, SNAPSHOT));
  let epoch = 0;
  let snapshotHeader = true;
  if (snap === undefined && newest > 0) {
    // Only a compaction makes a journal past the first, after its snapshot is in place.
    snapshotHeader = false;
    epoch = newest;
    damage.push({ file: SNAPSHOT, kind: 'missing', offset: 0, bytes: 0, frames: 0, keptAs: keepAside(dir, journalName(newest)) });
  } else if (snap !== undefined) {
    const content = readSnapshot(snap);
    if (content.epoch === undefined) {
      snapshotHeader = false;
      epoch = newest;
      damage.push({ file: SNAPSHOT, kind: 'header', offset: 0, bytes: snap.length, frames: 0, keptAs: keepAside(dir, SNAPSHOT) });
    } else {
      epoch = content.epoch;
      for (const f of content.frames) for (const r of f.records) records.push(r);
      const first = content.gaps[0];
      if (first !== undefined) {
        const bytes = content.gaps.reduce((n, g) => n + g.size, 0);
        damage.push({ file: SNAPSHOT, kind: 'checksum', offset: first.offset, bytes, frames: content.gaps.length, keptAs: keepAside(dir, SNAPSHOT) });
      }
    }
  }

  // Journals of other epochs are left by a compaction a crash cut short: stale, unless the
  // snapshot could not say which epoch is current.
  for (const name of journals) {
    if (name === journalName(epoch)) continue;
    if (!snapshotHeader) damage.push({ file: name, kind: 'unused', offset: 0, bytes: 0, frames: 0, keptAs: keepAside(dir, name) });
    removeIfExists(join(dir, name));
  }

  const file = journalName(epoch);
  const jbuf = readIfExists(join(dir, file));
  let journalEnd: number | undefined;
  if (jbuf === undefined) {
    if (snap !== undefined && snapshotHeader) damage.push({ file, kind: 'missing', offset: 0, bytes: 0, frames: 0 });
  } else if (jbuf.length === 0) {
    damage.push({ file, kind: 'empty', offset: 0, bytes: 0, frames: 0 });
  } else if (jbuf.length < JOURNAL_MAGIC.length || !jbuf.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    damage.push({ file, kind: 'header', offset: 0, bytes: jbuf.length, frames: 0, keptAs: keepAside(dir, file) });
  } else {
    const { frames, gaps } = scanFrames(jbuf, JOURNAL_MAGIC.length);
    const bad = gaps[0]?.offset ?? jbuf.length;
    for (const f of frames) {
      if (f.offset >= bad) break;
      for (const r of f.records) records.push(r);
    }
    const after = frames.filter((f) => f.offset > bad).length;
    journalEnd = bad;
    if (bad < jbuf.length && after === 0) {
      damage.push({ file, kind: 'torn', offset: bad, bytes: jbuf.length - bad, frames: 1 });
    } else if (bad < jbuf.length) {
      damage.push({ file, kind: 'checksum', offset: bad, bytes: jbuf.length - bad, frames: after + gaps.length, keptAs: keepAside(dir, file) });
    }
  }
  return { epoch, records, damage, journalEnd, rebase: damage.some((d) => d.keptAs !== undefined) };
}
