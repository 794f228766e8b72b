import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFrame } from './frame.js';
import type { JournalledState } from './journal.js';
import { Journal } from './journal.js';
import { describeDamage } from './recovery.js';
import type { StoreRecord } from './store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xs-journal-'));
  dirs.push(d);
  return d;
}

function put(path: string, value: string): StoreRecord {
  return { op: 'put', path, node: { value: Buffer.from(value), perms: [{ id: 0, perm: 'n' }, { id: 5, perm: 'r' }], children: ['a', 'b'] } };
}

/** A state that is just the list of records replayed or appended; `dump` returns it. */
class Recorded implements JournalledState {
  records: StoreRecord[] = [];
  replay(records: readonly StoreRecord[]): void {
    this.records.push(...records);
  }
  dump(): StoreRecord[] {
    return this.records;
  }
}

function open(dir: string, opts: { compactBytes?: number; maxFrameBytes?: number } = {}): { journal: Journal; state: Recorded; damage: string[] } {
  const state = new Recorded();
  const { journal, damage } = Journal.open(dir, state, { sync: false, ...opts });
  return { journal, state, damage: damage.map(describeDamage) };
}

/** A journal of `dir` that has compacted (20 changes past a 200-byte threshold), open. */
async function compacting(dir: string): Promise<{ journal: Journal; state: Recorded }> {
  const { journal, state } = open(dir, { compactBytes: 200 });
  for (let i = 0; i < 20; i++) {
    state.records.push(put(`/n${i}`, 'v'.repeat(20)));
    await journal.outcome(journal.append([put(`/n${i}`, 'v'.repeat(20))]));
  }
  return { journal, state };
}

describe('xenstore journal', () => {
  it('replays every durable frame in order', async () => {
    const dir = tmp();
    const { journal, damage } = open(dir);
    assert.deepEqual(damage, []);
    const durable: number[] = [];
    journal.onDurable = (seq) => void durable.push(seq);
    const s1 = journal.append([put('/x', '1'), { op: 'del', path: '/y' }]);
    const s2 = journal.append([{ op: 'domain', domid: 3, introduced: true, target: 2 }]);
    assert.equal(s2, s1 + 1);
    await journal.outcome(s2);
    assert.equal(journal.settled, s2);
    assert.deepEqual(durable, [s2]);
    await journal.close();
    const again = open(dir);
    assert.deepEqual(again.state.records, [put('/x', '1'), { op: 'del', path: '/y' }, { op: 'domain', domid: 3, introduced: true, target: 2 }]);
    assert.deepEqual(again.damage, []);
    await again.journal.close();
  });

  it('compacts a large store only once the journal has grown as large as its snapshot (it rewrote the whole store every compactBytes)', async () => {
    const dir = tmp();
    const { journal, state } = open(dir, { compactBytes: 200 });
    for (let i = 0; i < 200; i++) state.records.push(put(`/big/n${i}`, 'v'.repeat(100)));
    const journals = (): string[] => readdirSync(dir).filter((f) => f.startsWith('journal-'));
    const first = journals();
    let i = 0;
    const change = async (): Promise<void> => {
      const r = put(`/hot/n${i++ % 10}`, 'w'.repeat(20));
      state.records.push(r);
      await journal.outcome(journal.append([r]));
    };
    while (journals().join() === first.join()) await change();
    const snapshot = statSync(join(dir, 'snapshot')).size;
    assert.ok(snapshot > 20_000, String(snapshot));
    const second = journals();
    // A tenth of the snapshot's size in changes: far past compactBytes, no compaction.
    for (let n = 0; n < snapshot / 10 / 60; n++) await change();
    assert.deepEqual(journals(), second);
    await journal.close();
  });

  it('refuses a state directory another live xenstored holds', async () => {
    const dir = tmp();
    const { journal } = open(dir);
    assert.throws(() => open(dir), /xenstored \d+ is using it/);
    await journal.close();
    writeFileSync(join(dir, 'xenstored.pid'), '999999999\n');
    const again = open(dir);
    await again.journal.close();
    // A pid recycled by another process (its start time differs): the file is stale.
    writeFileSync(join(dir, 'xenstored.pid'), `${process.ppid} 1\n`);
    const recycled = open(dir);
    await recycled.journal.close();
  });

  it('cuts off a torn last frame and keeps the rest, reporting it', async () => {
    const dir = tmp();
    const { journal } = open(dir);
    journal.append([put('/keep', 'k')]);
    journal.append([put('/torn', 't')]);
    await journal.close();
    const file = join(dir, 'journal-0.log');
    const size = statSync(file).size;
    truncateSync(file, size - 3);
    const r1 = open(dir);
    assert.deepEqual(r1.state.records, [put('/keep', 'k')]);
    const frame = encodeFrame([put('/torn', 't')]).length;
    assert.deepEqual(r1.damage, [`journal-0.log: dropped a torn journal tail of ${frame - 3} bytes at offset ${size - frame}`]);
    r1.journal.append([put('/after', 'a')]);
    await r1.journal.close();
    // A flipped byte in the last frame fails its checksum: a torn tail too, as nothing follows it.
    const b = readFileSync(file);
    b[b.length - 1] = b[b.length - 1]! ^ 0xff;
    writeFileSync(file, b);
    const r2 = open(dir);
    assert.deepEqual(r2.state.records, [put('/keep', 'k')]);
    assert.match(r2.damage.join(), /torn/);
    await r2.journal.close();
    assert.deepEqual(readdirSync(dir).sort(), ['journal-0.log']);
  });

  it('does not take zero-filled space after the last frame for frames', async () => {
    const dir = tmp();
    const { journal } = open(dir);
    journal.append([put('/keep', 'k')]);
    await journal.close();
    appendFileSync(join(dir, 'journal-0.log'), Buffer.alloc(4096));
    const again = open(dir);
    assert.deepEqual(again.state.records, [put('/keep', 'k')]);
    assert.deepEqual(again.damage.map((l) => l.replace(/ at offset \d+/, '')), ['journal-0.log: dropped a torn journal tail of 4096 bytes']);
    await again.journal.close();
  });

  it('compacts into a snapshot and a fresh journal', async () => {
    const dir = tmp();
    const { journal, state } = await compacting(dir);
    await journal.close();
    assert.ok(existsSync(join(dir, 'snapshot')));
    assert.ok(!existsSync(join(dir, 'journal-0.log')));
    const again = open(dir);
    const paths = again.state.records.map((r) => (r.op === 'put' ? r.path : ''));
    assert.deepEqual([...new Set(paths)], state.records.map((r) => (r.op === 'put' ? r.path : '')));
    assert.deepEqual(again.damage, []);
    await again.journal.close();
  });

  it('never writes a frame larger than recovery reads: that change fails with E2BIG, the next is written', async () => {
    const dir = tmp();
    const { journal } = open(dir, { maxFrameBytes: 1000 });
    await journal.outcome(journal.append([put('/before', 'b')]));
    await assert.rejects(journal.outcome(journal.append([put('/big', 'x'.repeat(2000))])), (e: unknown) => (e as { errno?: string }).errno === 'E2BIG');
    await journal.outcome(journal.append([put('/after', 'a')]));
    await journal.close();
    const again = open(dir);
    assert.deepEqual(again.state.records.map((r) => (r.op === 'put' ? r.path : '')), ['/before', '/after']);
    assert.deepEqual(again.damage, []);
    await again.journal.close();
  });

  it('a snapshot deleted after a compaction is reported; the later journal is kept aside and replayed, not deleted', async () => {
    const dir = tmp();
    const { journal } = await compacting(dir);
    await journal.outcome(journal.append([put('/last', 'after the snapshot')]));
    await journal.close();
    const live = readdirSync(dir).find((n) => /^journal-[1-9]\d*\.log$/.test(n)) as string;
    assert.ok(live !== undefined, readdirSync(dir).join());
    rmSync(join(dir, 'snapshot'));
    const again = open(dir);
    assert.match(again.damage.join('\n'), /^snapshot: missing while a journal of a later epoch is there: .*kept as journal-\d+\.log\.damaged-/);
    assert.ok(again.state.records.some((r) => r.op === 'put' && r.path === '/last'), 'the journal\'s changes replayed');
    assert.ok(readdirSync(dir).some((n) => n.startsWith(`${live}.damaged-`)));
    await again.journal.close();
    const third = open(dir);
    assert.deepEqual(third.damage, []);
    assert.ok(third.state.records.some((r) => r.op === 'put' && r.path === '/last'));
    await third.journal.close();
  });
});
